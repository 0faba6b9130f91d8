// The real server for the end-to-end run: a fresh SQLite database migrated and seeded, tokens
// made with the CLI, gunicorn on a free port. Stopped (by its pid) when the run ends.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..', '..')
const VENV = process.env.VENV ?? join(ROOT, '.venv')

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => done(port)) })
    server.on('error', fail)
  })
}

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'console-e2e-db-'))
  const env = { ...process.env, DATABASE_URL: `sqlite:///${join(dir, 'e2e.db')}`, JOB_WORKERS: '2' }
  const flask = (...args) => execFileSync(join(VENV, 'bin', 'flask'), ['--app', 'wsgi', ...args], { cwd: ROOT, env, encoding: 'utf-8' }).trim()
  flask('db-upgrade')
  flask('seed')
  flask('load-roads')
  const tokens = {
    manager: flask('create-token', '--name', 'e2e-manager', '--role', 'manager', '--region', '341302000000'),
    planner: flask('create-token', '--name', 'e2e-planner', '--role', 'planner'),
    dispatcher: flask('create-token', '--name', 'e2e-dispatcher', '--role', 'dispatcher'),
    viewer: flask('create-token', '--name', 'e2e-viewer', '--role', 'viewer'),
  }
  const port = await freePort()
  const child = spawn(join(VENV, 'bin', 'gunicorn'), ['--workers', '1', '--threads', '8', '--bind', `127.0.0.1:${port}`, 'wsgi:app'],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr.on('data', (chunk) => { log += chunk })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/health`)).ok) break } catch { /* not up yet */ }
    if (i > 100 || child.exitCode !== null) throw new Error(`server did not start:\n${log}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return { base, tokens, stop: () => child.kill('SIGTERM'), log: () => log }
}
