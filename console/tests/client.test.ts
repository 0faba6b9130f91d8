import { afterEach, describe, expect, it, vi } from 'vitest'
import { fetchWithRetry } from '../src/api/client'
import { connection } from '../src/store'

describe('lost connection', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('shows the banner while retrying and clears it when the server answers', async () => {
    vi.useFakeTimers()
    let calls = 0
    const seen: boolean[] = []
    vi.stubGlobal('fetch', async () => {
      calls++
      seen.push(connection.online)
      if (calls < 3) throw new TypeError('Failed to fetch')
      return new Response('{}', { status: 200 })
    })
    const pending = fetchWithRetry(new Request('http://localhost/api/v1/me'))
    await vi.runAllTimersAsync()
    const response = await pending
    vi.useRealTimers()
    expect(response.status).toBe(200)
    expect(calls).toBe(3)
    expect(seen).toEqual([true, false, false])
    expect(connection.online).toBe(true)
  })

  it('sends one idempotency key for every try of a POST', async () => {
    vi.useFakeTimers()
    const keys: (string | null)[] = []
    vi.stubGlobal('fetch', async (request: Request) => {
      keys.push(request.headers.get('Idempotency-Key'))
      if (keys.length < 2) throw new TypeError('Failed to fetch')
      return new Response('{}', { status: 201 })
    })
    const pending = fetchWithRetry(new Request('http://localhost/api/v1/movements/issues', { method: 'POST', body: '{}' }))
    await vi.runAllTimersAsync()
    await pending
    vi.useRealTimers()
    expect(keys).toHaveLength(2)
    expect(keys[0]).toBeTruthy()
    expect(keys[1]).toBe(keys[0])
  })
})
