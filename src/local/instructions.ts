import { type GatewayConfig, LOCAL_DEFAULTS } from '../config.js';

/** What to type next, printed when the local profile starts (README "Trying it locally"). */
export function printLocalInstructions(config: GatewayConfig, base: string, agentToken: string | undefined): void {
  const sinkUser = config.eventSink.username === LOCAL_DEFAULTS.sinkUsername && config.eventSink.passwords[0] === LOCAL_DEFAULTS.sinkPassword ? `${LOCAL_DEFAULTS.sinkUsername}:${LOCAL_DEFAULTS.sinkPassword}` : '<EVENT_SINK_USERNAME>:<EVENT_SINK_PASSWORD>';
  const agent = agentToken ?? '<a Genesys token>';
  // seq and time come from the shell each time the line runs, so that it can end a second room too.
  const ended = `{"node":"10.0.0.1","seq":'$((RANDOM * 32768 + RANDOM))',"version":2,"time":'$(date +%s)',"event":"conference_ended","data":{"name":"'"$name"'"}}`;
  // The create line keeps the room's name in $name for the lines after it, without jq.
  const keepName = `name=$(node -pe 'JSON.parse(process.argv[1]).name' "$created")`;
  process.stdout.write(`
MaxConf gateway (local profile) at ${base}
  API docs:   ${base}/docs
  A token:    TOKEN=$(npm run -s token)
  Create:     created=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" "${base}/room/create?uuiData=3132333435362c373635343332") && echo "$created" && ${keepName}
  Get:        curl -s -w '\\n' -H "Authorization: Bearer $TOKEN" "${base}/room/$name"
  List:       curl -si -w '\\n' -H "Authorization: Bearer $TOKEN" "${base}/rooms?limit=10"
  Agent:      curl -s -w '\\n' -H "x-auth-token: ${agent}" "${base}/public/room/$name"
  Event:      curl -s -w '\\n' -u '${sinkUser}' -H "Content-Type: application/json" -d '${ended}' ${base}/public/event_sink
  Health:     curl -s -w '\\n' ${base}/public/health
  Ready:      curl -s -w '\\n' ${base}/public/ready
  (Paste them in order in one shell: Create keeps the new room's name in $name for Get, Agent and Event.)

`);
}
