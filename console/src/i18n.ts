import { createI18n } from 'vue-i18n'
import zh from './locales/zh'
import en from './locales/en'

const LANG_KEY = 'reserve-console-lang'

export type Lang = 'zh-CN' | 'en'

export const i18n = createI18n({
  legacy: false,
  locale: ((typeof localStorage !== 'undefined' && localStorage.getItem(LANG_KEY)) as Lang) || 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
})

export function setLang(lang: Lang): void {
  i18n.global.locale.value = lang
  localStorage.setItem(LANG_KEY, lang)
  document.documentElement.lang = lang
}
