/**
 * The app layer's public face: one use case per file, re-exported here for the HTTP server, the
 * CLI and the tests. Each runs in one store transaction (or a read) and takes the `AppContext`.
 */
export { type AppContext, type Catalogues, defaultCatalogues, ManualClock, systemClock } from './context.ts';
export { AppError, type AppErrorCode } from './errors.ts';
export {
  type AlertSettings,
  alertSettingsFromEnv,
  defaultAlertSettings,
  type EventType,
  eventTypes,
} from './events.ts';
export type { UsageResult } from './usage-record.ts';
export { type AdjustInput, type AdjustResult, adjust } from './use-cases/adjust.ts';
export { type AuthorizeInput, type AuthorizeResult, authorize } from './use-cases/authorize.ts';
export { type ChangeAccountInput, changeAccount } from './use-cases/change-plan.ts';
export { type ClaimResult, claim } from './use-cases/claim.ts';
export { type CreateAccountInput, createAccount } from './use-cases/create-account.ts';
export { type CreateOrgInput, createOrg } from './use-cases/create-org.ts';
export { recordUsage } from './use-cases/record-usage.ts';
export { type AppPolicyInput, setAppPolicy } from './use-cases/set-app-policy.ts';
export {
  type OrgUsageCreditsInput,
  setOrgUsageCredits,
  setUsageCredits,
  type UsageCreditsInput,
} from './use-cases/set-usage-credits.ts';
export { settleHold } from './use-cases/settle-hold.ts';
export { sweepDue } from './use-cases/sweep.ts';
export { createToken, findToken, hashToken, tokenRoles } from './use-cases/tokens.ts';
export { type VerifyReport, verifyLedger } from './use-cases/verify.ts';
export {
  type AccountView,
  accountView,
  type EntriesPage,
  type Entry,
  getAccountView,
  getOrg,
  getStatement,
  listCycles,
  listEntries,
  listOrgMembers,
  type Statement,
} from './use-cases/views.ts';
export { type VoidResult, voidHold } from './use-cases/void-hold.ts';
export {
  type CreateWebhookInput,
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  replayDelivery,
} from './webhooks/endpoints.ts';
