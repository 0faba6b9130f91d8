// Headless Debian Chromium via playwright-core (no browser download), and a console-error log.
import { chromium } from 'playwright-core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync', '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader']

export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'console-e2e-profile-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true, args: CHROMIUM_ARGS, viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
  })
  const errors = []
  context.on('page', (page) => watch(page, errors))
  for (const page of context.pages()) watch(page, errors)
  return { context, errors }
}

function watch(page, errors) {
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`) })
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
}
