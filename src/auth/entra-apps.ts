/** The MaxConf directory and the app registrations of docs/entra.md. */
export const MAXCONF_TENANT_ID = '953fc14a-00c7-4452-a2fb-0a73070de7f3';
export const CLIENT_IDS = {
  dev: 'd802c929-6984-48f9-81d1-ff8770c65bde',
  test: '9f0c40e1-6c03-40c1-8035-78bfcd8fed1b',
  prod: 'a154a158-92d0-4d3c-a756-95d811001574',
} as const;

/** The app role bulk operations require outside local, unless ENTRA_BULK_ROLE names another or turns it off. */
export const DEFAULT_BULK_ROLE = 'Rooms.Bulk';

/** The client IDs each environment (`MAXCONF_ENV`) accepts by default. */
export const PROFILE_CLIENT_IDS = {
  local: [CLIENT_IDS.dev],
  edge: [CLIENT_IDS.dev],
  test: [CLIENT_IDS.dev, CLIENT_IDS.test],
  prod: [CLIENT_IDS.prod],
};

/** The v1 and v2 issuers of a tenant (docs/entra.md "Token versions"). */
export function entraIssuers(tenantId: string): string[] {
  return [`https://sts.windows.net/${tenantId}/`, `https://login.microsoftonline.com/${tenantId}/v2.0`];
}
