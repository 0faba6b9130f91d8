// The typed API client (openapi-fetch over the generated schema) with the token and the
// connection-loss handling every page shares.
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'
import { session, connection } from '../store'

const auth: Middleware = {
  onRequest({ request }) {
    if (session.token) request.headers.set('Authorization', `Bearer ${session.token}`)
    return request
  },
  onResponse({ response }) {
    connection.online = true
    if (response.status === 401 && session.token) session.expired = true
    return response
  },
}

export const api = createClient<paths>({ baseUrl: '', fetch: (req) => fetchWithRetry(req) })
api.use(auth)

/** fetch that retries a lost connection with backoff, showing the banner meanwhile.
 *  A POST carries one Idempotency-Key for all its tries, so a retry never books twice. */
export async function fetchWithRetry(request: Request, attempts = 6): Promise<Response> {
  if (request.method !== 'GET' && !request.headers.has('Idempotency-Key')) {
    request.headers.set('Idempotency-Key', newKey())
  }
  let delay = 500
  for (let i = 0; ; i++) {
    try {
      const response = await fetch(request.clone())
      connection.online = true
      return response
    } catch (error) {
      connection.online = false
      if (i + 1 >= attempts) throw error
      connection.retryIn = delay
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 8000)
    }
  }
}

/** A plain GET of a path the typed client does not describe (GeoJSON, CSV). */
export async function getRaw(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (session.token) headers.set('Authorization', `Bearer ${session.token}`)
  const response = await fetchWithRetry(new Request(path, { ...init, headers }))
  if (response.status === 401 && session.token) session.expired = true
  return response
}

export async function getJson<T = unknown>(path: string): Promise<T> {
  const response = await getRaw(path)
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})))
  return (await response.json()) as T
}

/** Download a CSV (or any file) with the token, as the browser's save. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await getRaw(path)
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})))
  const url = URL.createObjectURL(await response.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

export class ApiError extends Error {
  constructor(public status: number, public body: unknown) {
    super(`HTTP ${status}`)
  }
}

/** Unwrap an openapi-fetch result: the data, or an ApiError carrying the problem+json. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw new ApiError(result.response.status, result.error)
  return result.data as T
}

function newKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}
