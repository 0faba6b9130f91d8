import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Built to dist/, served by Flask at /console/; `npm run dev` proxies the API to a local server.
export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  server: {
    proxy: { '/api': process.env.API_ORIGIN ?? 'http://127.0.0.1:8000' },
  },
  build: {
    chunkSizeWarningLimit: 4000,
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.ts'],
  },
})
