import { describe, expect, it } from 'vitest'
import { fieldRoot, flattenErrors, mapProblem } from '../src/api/problem'
import zh from '../src/locales/zh'
import en from '../src/locales/en'

function translator(tree: Record<string, unknown>) {
  return (key: string) => String(key.split('.').reduce<unknown>((n, p) => (n as Record<string, unknown>)?.[p], tree) ?? key)
}

describe('problem+json mapping', () => {
  it('puts each message at its field, nested paths dotted', () => {
    const fields = flattenErrors({ quantity: ['must be positive'], regions: { 0: { region: ['unknown township 99'] } }, _schema: ['one of a or b'] })
    expect(fields).toEqual({ quantity: 'must be positive', 'regions.0.region': 'unknown township 99', _: 'one of a or b' })
    expect(fieldRoot('regions.0.region')).toBe('regions')
  })

  it('uses the detail sentence as the banner', () => {
    const mapped = mapProblem(409, { type: 'x', title: 'Insufficient stock', status: 409, detail: 'SZ-341302 holds 250 台 of 2030101, 99999 requested', errors: { quantity: ['only 250 available'] } }, translator(zh))
    expect(mapped.message).toContain('99999 requested')
    expect(mapped.fields.quantity).toBe('only 250 available')
    expect(mapped.status).toBe(409)
  })

  it('falls back to plain words per status, never raw JSON', () => {
    expect(mapProblem(500, '<html>oops</html>', translator(en)).message).toBe(en.errors.status['500'])
    expect(mapProblem(422, { detail: '{"a": 1}' }, translator(zh)).message).toBe(zh.errors.status['422'])
    expect(mapProblem(418, {}, translator(en)).message).toBe(en.errors.status.other)
    expect(mapProblem(401, { detail: 'unknown or revoked token' }, translator(zh)).message).toBe(zh.errors.status['401'])
  })
})
