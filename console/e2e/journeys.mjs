// The three journeys of the issue, each with the mouse and keyboard as a person would do them.

function check(condition, message) { if (!condition) throw new Error(message) }

async function signIn(page, base, token) {
  await page.goto(`${base}/console/sign-in`)
  await page.evaluate(() => localStorage.setItem('reserve-console-lang', 'zh-CN'))
  await page.reload()
  await page.locator('[data-test=token]').fill(token)
  await page.keyboard.press('Enter')
  await page.locator('[data-test=whoami]').waitFor()
}

/** Open an Element Plus select, type to filter, choose the option with that text. */
async function choose(page, select, text) {
  await select.click()
  await page.keyboard.type(text)
  await page.locator('.el-select-dropdown__item:visible', { hasText: text }).first().click()
}

async function confirmBox(page) {
  await page.locator('.el-message-box__btns .el-button--primary').click()
}

async function waitMapLoaded(page) {
  await page.locator('[data-test=map][data-loaded=yes]').waitFor({ timeout: 30000 })
}

const renderedOn = (page, layer) => page.evaluate((id) => {
  const map = window.consoleMap
  return map && map.getLayer(id) ? map.querySourceFeatures(id).length : 0
}, layer)

async function belowNormCount(page) {
  return Number(await page.locator('[data-test=below-norm-count]').innerText())
}

/** A manager receives and issues stock at a depot in scope and sees the below-norm alert change. */
export async function managerJourney({ page, base, token, shot, expectHttpError }) {
  await signIn(page, base, token)
  await page.locator('[data-test=stock-table] .el-table__row').first().waitFor()
  check((await page.locator('[data-test=stock-table]').innerText()).includes('救灾帐篷'), 'stock is listed by depot and item')
  await shot('1-stock')

  // The map: reachability bands from every operating depot, then a click on the county depot.
  await page.goto(`${base}/console/map`)
  await waitMapLoaded(page)
  await choose(page, page.locator('[data-test=reach-depots]'), 'SZ-CITY-OLD')
  await page.locator('h3', { hasText: '可达范围' }).click()
  await page.locator('[data-test=reach-run]').click()
  await page.locator('[data-test=bands] .el-table__row').nth(2).waitFor({ timeout: 60000 })
  await page.waitForFunction(() => window.consoleMap?.getLayer('ov-bands'))
  await page.waitForTimeout(800)
  await shot('0-map')
  const at = await page.evaluate(() => window.consoleMap.project([116.977203, 33.64059]))
  const box = await page.locator('[data-test=map] canvas').boundingBox()
  await page.mouse.click(box.x + at.x, box.y + at.y)
  await page.locator('.el-drawer__title', { hasText: '·' }).waitFor()
  await page.waitForTimeout(800)
  await shot('0b-depot-drawer')
  await page.keyboard.press('Escape')
  await page.goto(`${base}/console/depots/SZ-341302`)
  await page.locator('[data-test=lots] .el-table__row').first().waitFor()
  await page.waitForFunction(() => Number(document.querySelector('[data-test=below-norm-count]')?.textContent) > 0)
  const start = await belowNormCount(page)
  check(await page.locator('[data-test=depot-alerts]').innerText().then((t) => t.includes('场地照明灯')), 'the lighting towers should be below norm at first')
  await shot('2-depot')

  // Receipt: 100 lighting towers lift the depot above its norm for that item.
  await page.locator('[data-test=open-receipt]').click()
  const receipt = page.locator('[data-test=form-receipt]')
  await choose(page, receipt.locator('.el-select').first(), '2030101')
  await receipt.locator('input[name=lot_no]').fill('E2E-LIGHT-001')
  await receipt.locator('[data-test=field-quantity] input').fill('100')
  await receipt.locator('input[name=reason]').fill('e2e receipt')
  await shot('3-receipt-form')
  await receipt.locator('[data-test=submit-movement]').click()
  await page.waitForFunction((n) => Number(document.querySelector('[data-test=below-norm-count]')?.textContent) === n - 1, start)
  check(!(await page.locator('[data-test=depot-alerts]').innerText()).includes('场地照明灯'), 'the alert for lighting towers should be gone after the receipt')
  await shot('4-after-receipt')

  // A wrong issue first: more than the depot holds → the error is shown in words at the form.
  await page.locator('[data-test=open-issue]').click()
  const issue = page.locator('[data-test=form-issue]')
  await choose(page, issue.locator('.el-select').first(), '2030101')
  await issue.locator('[data-test=field-quantity] input').fill('99999')
  expectHttpError(409)
  await issue.locator('[data-test=submit-movement]').click()
  await issue.locator('[data-test=form-error]').waitFor()
  const message = await issue.locator('[data-test=form-error]').innerText()
  check(!message.includes('{'), `the error should be words, not JSON: ${message}`)
  await shot('5-issue-error')

  // Then a real issue of 60 takes it back below norm: the alert returns.
  await issue.locator('[data-test=field-quantity] input').fill('60')
  await issue.locator('[data-test=submit-movement]').click()
  await page.waitForFunction((n) => Number(document.querySelector('[data-test=below-norm-count]')?.textContent) === n, start)
  check((await page.locator('[data-test=depot-alerts]').innerText()).includes('场地照明灯'), 'the alert should be back after the issue')
  const recent = await page.locator('[data-test=recent-movements]').innerText()
  check(recent.includes('出库') && recent.includes('入库'), 'the latest ledger entries should show the receipt and the issue')
  await shot('6-after-issue')

  // A stock count: dry run row by row, then booked.
  await page.goto(`${base}/console/stock`)
  await page.locator('.el-tabs__item', { hasText: '盘点导入' }).click()
  const lotNo = await page.evaluate(async () => {
    const token = localStorage.getItem('reserve-console-token')
    const body = await (await fetch('/api/v1/lots?depot=SZ-341302&item=1010101', { headers: { Authorization: `Bearer ${token}` } })).json()
    return [body.items[0].lot_no, body.items[0].quantity]
  })
  await page.locator('[data-test=count-file]').setInputFiles({ name: 'count.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`depot,item,lot_no,counted_quantity\nSZ-341302,1010101,${lotNo[0]},${lotNo[1] - 1}\n`) })
  await page.locator('[data-test=count-dry-run]').click()
  await page.locator('text=1 行有差异').waitFor()
  await page.locator('button', { hasText: '确认入账' }).click()
  await page.locator('.el-tag', { hasText: '已入账' }).waitFor()
  await shot('7-stock-count')

  // A depot outside the manager's scope shows no buttons that would fail.
  await page.goto(`${base}/console/depots/SZ-341321`)
  await page.locator('[data-test=lots] .el-table__row').first().waitFor()
  check(await page.locator('[data-test=movement-buttons]').count() === 0, 'no movement buttons outside the scope')
}

/** A planner runs "one new city depot, keep the county depots" and sees the chosen site on the map. */
export async function plannerJourney({ page, base, token, shot }) {
  await signIn(page, base, token)
  await page.goto(`${base}/console/planner`)
  await waitMapLoaded(page)
  await page.locator('[data-test=preset-city]').click()
  await page.locator('[data-test=siting-run]').click()
  await page.locator('[data-test=siting-result]').waitFor({ timeout: 120000 })
  const sites = await page.locator('[data-test=new-sites]').innerText()
  check(/SZ-CITY|CAND/.test(sites), `a new city site should be listed: ${sites}`)
  await page.waitForFunction(() => {
    const map = window.consoleMap
    return map?.getLayer('ov-sites') && map.querySourceFeatures('ov-sites').some((f) => f.properties.new)
  }, undefined, { timeout: 15000 })
  check(await renderedOn(page, 'ov-assign') > 50, 'assignments should be drawn')
  await page.waitForTimeout(500)
  await shot('1-siting')
  await page.locator('.el-tabs__item', { hasText: '物资预置' }).click()
  const prep = page.locator('#pane-prep')
  await prep.locator('button', { hasText: '生成情景' }).click()
  await prep.locator('.el-table__row').first().waitFor({ timeout: 60000 })
  await prep.locator('.el-table__row').first().click()
  await page.waitForFunction(() => window.consoleMap?.getLayer('ov-affected'))
  await prep.locator('input[placeholder="全部物资"]').fill('1010101, 1030301')
  await prep.locator('button', { hasText: '开始预置计算' }).click()
  await prep.locator('[data-test=budget-curve]').waitFor({ timeout: 240000 })
  check((await prep.innerText()).includes('VSS'), 'the value of the stochastic solution should be explained')
  await prep.locator('[data-test=budget-curve]').scrollIntoViewIfNeeded()
  await page.waitForTimeout(800)
  await shot('2-prepositioning')
  await page.goto(`${base}/console/jobs`)
  await page.locator('[data-test=jobs] .el-table__row').nth(1).waitFor()
  await shot('3-jobs')
  // English at the switch: every label follows.
  await page.locator('.el-header .el-select').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).click()
  await page.locator('.el-menu-item', { hasText: 'Jobs' }).waitFor()
  await shot('4-jobs-english')
}

/** A dispatcher posts an incident, sees routes, draws a closure, re-plans, approves, and finds the issues in the ledger. */
export async function dispatcherJourney({ page, base, token, shot }) {
  await signIn(page, base, token)
  await page.goto(`${base}/console/dispatch`)
  await waitMapLoaded(page)
  const pick = page.locator('[data-test=pick-township]')
  await choose(page, pick, '渔沟镇')
  await choose(page, pick, '灵城镇')
  check(await page.locator('[data-test=incident-regions] .el-table__row').count() === 2, 'two townships should be listed')
  await shot('1-incident')
  await page.locator('[data-test=plan-incident]').click()
  await page.locator('[data-test=plan-status]').waitFor({ timeout: 180000 })
  await page.waitForFunction(() => window.consoleMap?.getLayer('ov-routes') && window.consoleMap.querySourceFeatures('ov-routes').length > 0, undefined, { timeout: 15000 })
  check(await page.locator('.stop-marker').count() > 0, 'stops should be numbered on the map')
  await page.waitForTimeout(500)
  await shot('2-plan')
  await page.locator('[data-test=timeline]').scrollIntoViewIfNeeded()
  await page.waitForTimeout(300)
  await shot('2b-timeline')
  await page.evaluate(() => { window.print = () => { window.printed = true } })
  await page.locator('[data-test=vehicles] button', { hasText: '打印清单' }).first().click()
  await page.waitForFunction(() => window.printed === true)
  await page.emulateMedia({ media: 'print' })
  check(await page.locator('[data-test=manifest]').isVisible(), 'the manifest shows when printing')
  await shot('2c-manifest-print')
  await page.emulateMedia({ media: 'screen' })
  await page.setViewportSize({ width: 1920, height: 1080 })
  await page.waitForTimeout(500)
  await shot('2d-wall-1920')
  await page.setViewportSize({ width: 1366, height: 768 })
  await page.waitForTimeout(300)

  // Draw a closure square across the middle of the first route, with the mouse.
  const corners = await page.evaluate(() => {
    const map = window.consoleMap
    const line = map.querySourceFeatures('ov-routes')[0].geometry.coordinates
    const [lng, lat] = line[Math.floor(line.length / 2)]
    const d = 0.01
    map.jumpTo({ center: [lng, lat], zoom: 10 })
    return [[lng - d, lat - d], [lng + d, lat - d], [lng + d, lat + d], [lng - d, lat + d]]
  })
  await page.waitForTimeout(300)
  await page.locator('[data-test=draw-closure]').click()
  const canvas = page.locator('[data-test=map] canvas')
  const box = await canvas.boundingBox()
  for (const corner of corners) {
    const point = await page.evaluate((c) => window.consoleMap.project(c), corner)
    await page.mouse.click(box.x + point.x, box.y + point.y)
  }
  await shot('3-drawing')
  await page.locator('[data-test=finish-closure]').click()
  await page.waitForFunction(() => window.consoleMap.querySourceFeatures('events').length > 0, undefined, { timeout: 15000 })
  await shot('4-closure')

  await page.locator('[data-test=replan]').click()
  await confirmBox(page)
  await page.locator('[data-test=plan-state]', { hasText: '第 1 版' }).waitFor({ timeout: 180000 })
  await page.waitForTimeout(500)
  await shot('5-replanned')

  await page.locator('[data-test=approve]').click()
  await confirmBox(page)
  await page.locator('[data-test=plan-status]', { hasText: '已批准' }).waitFor({ timeout: 30000 })
  await shot('6-approved')
  await page.locator('[data-test=to-ledger]').click()
  await page.locator('[data-test=ledger] .el-table__row').first().waitFor()
  const ledger = await page.locator('[data-test=ledger]').innerText()
  check(ledger.includes('出库') && ledger.includes('plan:'), 'the ledger should show the plan\'s issues')
  await shot('7-ledger')
}
