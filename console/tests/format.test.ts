import { describe, expect, it } from 'vitest'
import { clockAt, daysUntil, expiryBand, formatHours, formatNumber, formatPercent, toCsv } from '../src/format'

describe('formatting', () => {
  it('writes hours as hours and minutes in both languages', () => {
    expect(formatHours(9.896, 'zh-CN')).toBe('9 小时 54 分')
    expect(formatHours(0.5, 'en')).toBe('0 h 30 min')
    expect(formatHours(null)).toBe('—')
    expect(formatHours(Infinity)).toBe('—')
    expect(formatHours(NaN)).toBe('—')
  })

  it('never prints NaN for numbers and shares', () => {
    expect(formatNumber(NaN)).toBe('—')
    expect(formatNumber(1234567, 'en')).toBe('1,234,567')
    expect(formatPercent(0.829, 'en')).toBe('82.9%')
    expect(formatPercent(undefined)).toBe('—')
  })

  it('gives the clock time of an ETA, with the next day marked', () => {
    const start = new Date(2026, 11, 1, 21, 0).toISOString()
    expect(clockAt(start, 2.5, 'en')).toBe('23:30')
    expect(clockAt(start, 9.9, 'zh-CN')).toBe('次日 06:54')
    expect(clockAt(start, 9.9, 'en')).toBe('06:54 +1d')
    expect(clockAt(start, null)).toBe('—')
  })

  it('bands lot expiry at 30, 60 and 90 days', () => {
    const today = new Date(2026, 11, 1)
    expect(daysUntil('2026-12-31', today)).toBe(30)
    expect(expiryBand('2026-11-30', today)).toBe('expired')
    expect(expiryBand('2026-12-01', today)).toBe('d30')
    expect(expiryBand('2026-12-31', today)).toBe('d30')
    expect(expiryBand('2027-01-01', today)).toBe('d60')
    expect(expiryBand('2027-02-28', today)).toBe('d90')
    expect(expiryBand('2027-03-02', today)).toBe('ok')
    expect(expiryBand(null, today)).toBe('none')
  })

  it('quotes CSV cells that need it', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1, null]])).toBe('a,b\n"x,y","say ""hi"""\n1,\n')
  })
})
