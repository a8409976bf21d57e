/**
 * The Caddyfile of a Caddy that load-balances plain HTTP over several API processes (the cluster test's two APIs):
 * round robin; an upstream that fails once is marked down for `failDuration`; a call that cannot reach an upstream
 * (dial error: nothing was sent) is tried on the next one for up to 4 s. A POST whose upstream took it and then died
 * is not resent (Caddy resends only GETs unless `lb_retry_match` says otherwise): it gets a 502. Idle upstream
 * connections are closed after 30 s, before the API would close them (as deploy/caddy does).
 */
export function balancerCaddyfile(o: { port: number; upstreams: readonly string[]; failDuration: string }): string {
  return `{
\tadmin off
\tauto_https off
\tservers {
\t\tprotocols h1
\t}
}
http://127.0.0.1:${o.port} {
\tbind 127.0.0.1
\treverse_proxy ${o.upstreams.map((u) => u.replace(/^http:\/\//, '')).join(' ')} {
\t\tlb_policy round_robin
\t\tlb_try_duration 4s
\t\tlb_try_interval 100ms
\t\tfail_duration ${o.failDuration}
\t\tmax_fails 1
\t\ttransport http {
\t\t\tdial_timeout 1s
\t\t\tresponse_header_timeout 6s
\t\t\tkeepalive 30s
\t\t}
\t}
}
`;
}
