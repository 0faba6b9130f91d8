import { createRouter, createWebHistory } from 'vue-router'
import { session } from './store'

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/', redirect: '/map' },
    { path: '/sign-in', component: () => import('./pages/SignInPage.vue'), meta: { public: true } },
    { path: '/map', component: () => import('./pages/MapPage.vue') },
    { path: '/stock', component: () => import('./pages/StockPage.vue') },
    { path: '/depots/:code', component: () => import('./pages/DepotPage.vue'), props: true },
    { path: '/ledger', component: () => import('./pages/LedgerPage.vue') },
    { path: '/planner', component: () => import('./pages/PlannerPage.vue') },
    { path: '/dispatch', component: () => import('./pages/DispatchPage.vue') },
    { path: '/jobs', component: () => import('./pages/JobsPage.vue') },
    { path: '/:rest(.*)*', redirect: '/map' },
  ],
})

router.beforeEach((to) => {
  if (!to.meta.public && !session.token) return { path: '/sign-in', query: { next: to.fullPath } }
})
