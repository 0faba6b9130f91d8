import { api, unwrap } from './api/client'
import { session, type Me } from './store'

/** Fetch who the token is (role, abilities, depots in scope) into the session. */
export async function loadMe(): Promise<Me> {
  const me = unwrap(await api.GET('/api/v1/me')) as Me
  session.me = me
  return me
}
