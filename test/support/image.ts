/**
 * The container image's process as the Dockerfile declares it, read in one
 * place for the tests and the bench (which run the gateway as the image does).
 */

/** The `CMD` array: `node`, its flags, the entry point (empty when there is none). */
export function imageCommand(dockerfile: string): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  return cmd === undefined ? [] : (JSON.parse(cmd) as string[]);
}

/** An `ENV name=value` line's value. */
export function imageEnv(dockerfile: string, name: string): string | undefined {
  return new RegExp(`^ENV ${name}=(.*)$`, 'm').exec(dockerfile)?.[1]?.trim();
}
