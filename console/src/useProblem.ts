// A form's error state: the banner sentence and each field's message, from any API failure.
import { reactive } from 'vue'
import { useI18n } from 'vue-i18n'
import { ElMessage } from 'element-plus'
import { ApiError } from './api/client'
import { mapProblem } from './api/problem'

export function useProblem() {
  const { t } = useI18n()
  const state = reactive({ message: '', fields: {} as Record<string, string>, busy: false })

  function clear(): void {
    state.message = ''
    state.fields = {}
  }

  /** Run an API call; on failure fill the banner and the fields, and return undefined. */
  async function run<T>(call: () => Promise<T>, success?: string): Promise<T | undefined> {
    clear()
    state.busy = true
    try {
      const value = await call()
      if (success) ElMessage.success(success)
      return value
    } catch (error) {
      if (error instanceof ApiError) {
        const mapped = mapProblem(error.status, error.body, t)
        state.message = mapped.message
        state.fields = mapped.fields
      } else {
        state.message = t('errors.network')
      }
      return undefined
    } finally {
      state.busy = false
    }
  }

  /** The message for a form field (matches the field and its dotted children). */
  function field(name: string): string {
    return Object.entries(state.fields).filter(([k]) => k === name || k.startsWith(`${name}.`))
      .map(([, v]) => v).join('; ')
  }

  return { state, run, clear, field }
}
