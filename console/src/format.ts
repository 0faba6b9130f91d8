// Number, time and date formatting shared by every page (locale-aware, never "NaN").

export function formatNumber(value: number | null | undefined, locale = 'zh-CN', digits = 0): string {
  if (value == null || !Number.isFinite(value)) return '—'
  return value.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

export function formatPercent(share: number | null | undefined, locale = 'zh-CN', digits = 1): string {
  if (share == null || !Number.isFinite(share)) return '—'
  return (share * 100).toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }) + '%'
}

/** Hours as "3 h 05 min" / "3 小时 05 分"; null → "—". */
export function formatHours(hours: number | null | undefined, locale = 'zh-CN'): string {
  if (hours == null || !Number.isFinite(hours)) return '—'
  const totalMinutes = Math.round(hours * 60)
  const h = Math.floor(totalMinutes / 60)
  const m = totalMinutes % 60
  const mm = String(m).padStart(2, '0')
  return locale.startsWith('zh') ? `${h} 小时 ${mm} 分` : `${h} h ${mm} min`
}

/** Clock time of start + hours, e.g. "14:35" (+1 day shown as "次日"/"+1d"). */
export function clockAt(startIso: string, hours: number | null | undefined, locale = 'zh-CN'): string {
  if (hours == null || !Number.isFinite(hours)) return '—'
  const start = new Date(startIso)
  if (Number.isNaN(start.getTime())) return '—'
  const at = new Date(start.getTime() + hours * 3600_000)
  const hhmm = at.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', hour12: false })
  const days = Math.floor((Date.UTC(at.getFullYear(), at.getMonth(), at.getDate()) -
    Date.UTC(start.getFullYear(), start.getMonth(), start.getDate())) / 86400_000)
  if (days <= 0) return hhmm
  return locale.startsWith('zh') ? `${days === 1 ? '次日' : `+${days}天`} ${hhmm}` : `${hhmm} +${days}d`
}

/** Days from today (local) to an ISO date; negative = already expired; null for no date. */
export function daysUntil(isoDate: string | null | undefined, today: Date = new Date()): number | null {
  if (!isoDate) return null
  const [y, m, d] = isoDate.slice(0, 10).split('-').map(Number)
  if (!y || !m || !d) return null
  const target = Date.UTC(y, m - 1, d)
  const base = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate())
  return Math.round((target - base) / 86400_000)
}

export type ExpiryBand = 'expired' | 'd30' | 'd60' | 'd90' | 'ok' | 'none'

/** The expiry highlight of a lot: expired, within 30, 60 or 90 days, or fine. */
export function expiryBand(isoDate: string | null | undefined, today: Date = new Date()): ExpiryBand {
  const days = daysUntil(isoDate, today)
  if (days == null) return 'none'
  if (days < 0) return 'expired'
  if (days <= 30) return 'd30'
  if (days <= 60) return 'd60'
  if (days <= 90) return 'd90'
  return 'ok'
}

/** Rows as CSV text (quoted where needed), for the console's own exports. */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => {
    const s = v == null ? '' : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n'
}
