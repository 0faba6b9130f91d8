import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import zh from '../src/locales/zh'
import en from '../src/locales/en'

function keys(tree: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : /\.(vue|ts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })
}

describe('i18n', () => {
  it('has every key in both languages', () => {
    const zhKeys = new Set(keys(zh))
    const enKeys = new Set(keys(en))
    expect([...zhKeys].filter((k) => !enKeys.has(k))).toEqual([])
    expect([...enKeys].filter((k) => !zhKeys.has(k))).toEqual([])
  })

  it('has no empty message', () => {
    for (const tree of [zh, en]) {
      for (const key of keys(tree)) {
        const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree)
        expect(String(value).trim(), key).not.toBe('')
      }
    }
  })

  it('defines every literal key the sources use', () => {
    const known = new Set(keys(zh))
    const used = sources(join(import.meta.dirname, '..', 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf-8').matchAll(/\bt\(\s*'([a-zA-Z][\w.-]*)'/g)].map((m) => m[1]))
    expect(used.length).toBeGreaterThan(100)
    expect([...new Set(used)].filter((k) => !known.has(k))).toEqual([])
  })

  it('uses the same placeholders in both languages', () => {
    for (const key of keys(zh)) {
      const pick = (tree: Record<string, unknown>) => String(key.split('.').reduce<unknown>((n, p) => (n as Record<string, unknown>)[p], tree))
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
      expect(names(pick(en)), key).toEqual(names(pick(zh)))
    }
  })
})
