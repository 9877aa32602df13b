/** Pexip stores at most 250 characters in a VMR's tag. */
export const MAX_TAG_LENGTH = 250;
export const MAX_UUI_DATA_LENGTH = 512;

/** `<base>/<base64url(bytes of uuiData)>` (docs/contract.md §3 "The tag"). uuiData must already be valid hex. */
export function tagFromUuiData(uuiData: string, baseUrl: string): string {
  return `${baseUrl}/${Buffer.from(uuiData, 'hex').toString('base64url')}`;
}

/** The longest uuiData (hex characters) whose tag still fits Pexip's limit with this base URL. */
export function maxUuiDataForTag(baseUrl: string): number {
  const room = MAX_TAG_LENGTH - baseUrl.length - 1;
  const bytes = Math.floor((room * 3) / 4);
  return Math.max(0, Math.min(MAX_UUI_DATA_LENGTH, bytes * 2));
}
