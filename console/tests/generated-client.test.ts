import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'

// The typed client is generated from api_spec/openapi.json; if the spec changed and nobody ran
// `npm run gen:api`, the console and the API have drifted: fail.
describe('generated API client', () => {
  it('is up to date with api_spec/openapi.json', async () => {
    const root = join(import.meta.dirname, '..')
    const spec = JSON.parse(readFileSync(join(root, '..', 'api_spec', 'openapi.json'), 'utf-8'))
    const fresh = astToString(await openapiTS(spec))
    const committed = readFileSync(join(root, 'src', 'api', 'schema.d.ts'), 'utf-8')
    const body = (s: string) => s.slice(s.indexOf('export'))
    expect(body(committed).trim(), 'run `npm run gen:api` in console/').toBe(body(fresh).trim())
  }, 60000)
})
