/** The part of autocannon 8's API that `npm run bench` uses (the package ships no types). */
declare module "autocannon" {
  import type { EventEmitter } from "node:events"

  export type AutocannonOptions = {
    url: string
    connections?: number
    duration?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    requests?: { onResponse?: (status: number, body: string, context: unknown, headers: Record<string, string>) => void }[]
  }
  export type AutocannonResult = {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    requests: { total: number; sent: number }
  }
  export type Instance = EventEmitter & { stop(): void }

  function autocannon(options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void): Instance
  export default autocannon
}
