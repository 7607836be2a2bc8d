/** The accounts `npm run bench` signs in with (made by test/bench/seed.ts), and their password. */
export const BENCH_PASSWORD = "bench-password-1"

export type BenchAccounts = {
  /** Signed in with an ordinary session (a member of an organization, as most users are). */
  user: string
  /** The admin who impersonates `user` for the impersonated-read scenario. */
  admin: string
  /** One admin and one subject per concurrent start/stop loop. */
  pairs: { admin: string; subject: string }[]
}
