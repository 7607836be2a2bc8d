"use client"
import { useMutation } from "@blitzjs/rpc"
import signOutEverywhere from "../mutations/signOutEverywhere"

export function SignOutEverywhereButton() {
  const [signOut, { isPending, error }] = useMutation(signOutEverywhere, { throwOnError: false })
  return (
    <p>
      <button
        type="button"
        disabled={isPending}
        onClick={async () => {
          const result = await signOut({})
          if (result) window.location.assign("/login")
        }}
      >
        Sign out everywhere
      </button>{" "}
      {error instanceof Error && <span role="alert">{error.message}</span>}
    </p>
  )
}
