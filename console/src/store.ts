// Shared state: who is signed in, and whether the server answers.
import { reactive } from 'vue'

export interface Me {
  name: string
  role: string
  abilities: string[]
  scope_region?: string | null
  depots_in_scope?: string[] | null
}

const TOKEN_KEY = 'reserve-console-token'

export const session = reactive({
  token: (typeof localStorage !== 'undefined' && localStorage.getItem(TOKEN_KEY)) || '',
  me: null as Me | null,
  expired: false,
})

export const connection = reactive({ online: true, retryIn: 0 })

export function saveToken(token: string): void {
  session.token = token
  session.expired = false
  localStorage.setItem(TOKEN_KEY, token)
}

export function signOut(): void {
  session.token = ''
  session.me = null
  localStorage.removeItem(TOKEN_KEY)
}

export function can(ability: string): boolean {
  return !!session.me && session.me.abilities.includes(ability)
}

/** May this token change the stock of that depot? (null scope = every depot). */
export function mayEditDepot(code: string): boolean {
  if (!can('stock')) return false
  const scope = session.me?.depots_in_scope
  return scope == null || scope.includes(code)
}
