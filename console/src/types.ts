// Shapes of API responses the spec does not describe yet (regenerate the client when it does).

export interface DepotLite { code: string; name: string; tier: string; operator: string; status: string; capacity_m3?: number }
export interface StockRow { depot?: string; depot_name?: string; item?: string; item_name?: string; tier?: string; quantity: number; weight_t: number; volume_m3: number; lots: number }
export interface BelowNormAlert { depot: string; depot_name: string; tier: string; item: string; item_name: string; unit: string; norm: number; quantity: number; shortfall: number; fill_rate: number }
export interface ExpiringLot { lot_id: number; depot: string; item: string; item_name: string; lot_no: string; mode: string; quantity: number; expires_on: string; days_left: number; expired: boolean }
export interface ExpiringAgreement { code: string; supplier: string; item: string; item_name: string; committed_quantity: number; valid_to: string; days_left: number; expired: boolean }
export interface Lot { id: number; depot: string; item: string; item_name: string; unit: string; lot_no: string; mode: string; quantity: number; produced_on: string | null; expires_on: string | null; note: string; version: number }
export interface MovementRow { id: number; kind: string; lot_id: number; lot_no: string; depot: string; item: string; quantity: number; balance_after: number; actor: string; reason: string; reference: string; group_id: string; created_at: string }
export interface Job { id: string; kind: string; status: string; progress: number; message: string; created_by: string; created_at: string; started_at: string | null; finished_at: string | null; params: Record<string, unknown>; result?: Record<string, unknown> | null; url: string }

export interface SitingSite { code: string; name: string; tier: string; new: boolean; lat: number; lng: number; fixed_cost_yuan: number }
export interface CoverageBand { hours: number; population: number; share: number }
export interface SitingResult {
  model: string; status: string; objective: number | null; bound: number | null; gap: number | null; solve_seconds: number; solver: string
  sites: SitingSite[]; new_sites: string[]; total_fixed_cost_yuan: number
  assignment: { region: string; name: string; population: number; depot: string; hours: number }[]
  plan: { sites: number; coverage: CoverageBand[]; mean_hours: number; max_hours: number; unreachable_regions: string[] }
  today: { sites: number; coverage: CoverageBand[]; mean_hours: number; max_hours: number }
  geojson: GeoJSON.FeatureCollection
}

export interface Stop { kind: 'pickup' | 'delivery'; place: string; place_name: string; eta_h: number; eta: string; departure_h: number; load_kg: number; order: string }
export interface ManifestLine { item: string; item_name: string; quantity: number; lot_no: string; expiry: string | null; source: string; source_mode: string; region: string; order: string }
export interface PlanVehicle { vehicle_id: string; profile: string; status: string; dispatched: boolean; trips: number; peak_load_kg: number; total_load_kg: number; stops: Stop[]; manifest: ManifestLine[]; geometry: GeoJSON.LineString | null }
export interface Shortfall { region_id?: string; region?: string; item_id?: string; item?: string; item_name?: string; quantity: number; reason: string; detail: string }
export interface RegionPlan { region: string; name: string; relocated_people: number; fill_rate_by_deadline: number; fully_served_by_deadline: boolean; shortfalls: Shortfall[]; eta_h: Record<string, number | null> }
export interface ChangedEta { region: string; region_name: string; item: string; vehicle: string | null; old_eta_h: number | null; new_eta_h: number | null; old_on_time: boolean; new_on_time: boolean }
export interface Plan {
  id: string; incident_id: string; generation: number; parent_id: string | null; status: string; created_by: string
  approved_by: string | null; approved_at: string | null; vehicle_status: Record<string, string>
  summary: { share_people_fully_served: number; people_fully_served: number; people_total: number; latest_arrival_h: number | null; vehicles_used: number; text: string; routing_status: string }
  deadline_h: number; start_at: string; vehicles: PlanVehicle[]; regions: RegionPlan[]; unrouted_orders: unknown[]; changed_etas?: ChangedEta[] | null
}
