// End-to-end journeys in real headless Chromium against the real server with the seed data.
// Prints "N passed, N failed"; screenshots go to e2e/out/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch } from './browser.mjs'
import { startServer } from './server.mjs'
import { managerJourney, plannerJourney, dispatcherJourney } from './journeys.mjs'

const OUT = join(import.meta.dirname, 'out')
mkdirSync(OUT, { recursive: true })
const only = process.argv.slice(2)
const journeys = [['manager', managerJourney], ['planner', plannerJourney], ['dispatcher', dispatcherJourney]]
  .filter(([name]) => !only.length || only.includes(name))

const server = await startServer()
const { context, errors } = await launch()
let passed = 0
let failed = 0
try {
  for (const [name, journey] of journeys) {
    const page = await context.newPage()
    const started = Date.now()
    const before = errors.length
    try {
      // Chromium logs every 4xx answer as a console error; a journey that provokes one on
      // purpose names it, and only those are let through.
      const expected = []
      const expectHttpError = (status) => expected.push(`status of ${status}`)
      await journey({ page, base: server.base, token: server.tokens[name], tokens: server.tokens, expectHttpError,
        shot: (label) => page.screenshot({ path: join(OUT, `${name}-${label}.png`) }) })
      const mine = errors.slice(before).filter((e) => {
        const i = expected.findIndex((s) => e.includes('Failed to load resource') && e.includes(s))
        if (i < 0) return true
        expected.splice(i, 1)
        return false
      })
      if (mine.length) throw new Error(`browser console errors:\n  ${mine.join('\n  ')}`)
      passed++
      console.log(`ok   ${name} journey (${((Date.now() - started) / 1000).toFixed(1)} s)`)
    } catch (error) {
      failed++
      await page.screenshot({ path: join(OUT, `${name}-failure.png`) }).catch(() => {})
      console.log(`FAIL ${name} journey: ${error.stack ?? error}`)
    } finally {
      await page.close()
    }
  }
} finally {
  await context.close()
  server.stop()
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
