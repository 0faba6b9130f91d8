// Turning the API's problem+json into words a person reads, with each message at its field.

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: Record<string, unknown>
}

export interface MappedError {
  /** One plain sentence for the banner above the form. */
  message: string
  /** Messages by form field (dotted API paths such as "regions.0.adcode" are kept). */
  fields: Record<string, string>
  status: number
}

/** Flatten marshmallow-style nested errors ({regions: {0: {adcode: ["..."]}}}) into dotted paths. */
export function flattenErrors(errors: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  if (errors == null) return out
  if (typeof errors === 'string') {
    out[prefix || '_'] = errors
    return out
  }
  if (Array.isArray(errors)) {
    if (errors.every((e) => typeof e === 'string')) {
      out[prefix || '_'] = errors.join('; ')
      return out
    }
    errors.forEach((e, i) => Object.assign(out, flattenErrors(e, prefix ? `${prefix}.${i}` : String(i))))
    return out
  }
  if (typeof errors === 'object') {
    for (const [key, value] of Object.entries(errors as Record<string, unknown>)) {
      const path = key === '_schema' ? prefix : prefix ? `${prefix}.${key}` : key
      Object.assign(out, flattenErrors(value, path))
    }
  }
  return out
}

/** The banner sentence and per-field messages for an API error (never raw JSON). */
export function mapProblem(status: number, body: unknown, t: (key: string, values?: Record<string, unknown>) => string): MappedError {
  const problem: Problem = body && typeof body === 'object' ? (body as Problem) : {}
  const fields = flattenErrors(problem.errors)
  let message = problem.detail || problem.title || ''
  if (!message || message.trim().startsWith('{')) message = t(`errors.status.${statusKey(status)}`)
  if (status === 401) message = t('errors.status.401')
  return { message, fields, status }
}

function statusKey(status: number): string {
  if ([400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 429].includes(status)) return String(status)
  return status >= 500 ? '500' : 'other'
}

/** The form field a dotted API path belongs to: "regions.0.adcode" → "regions". */
export function fieldRoot(path: string): string {
  return path.split('.')[0]
}
