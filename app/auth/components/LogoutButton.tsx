"use client"
import { useMutation } from "@blitzjs/rpc"
import logout from "../mutations/logout"

export function LogoutButton() {
  const [logoutMutation, { isPending }] = useMutation(logout, { throwOnError: false })
  return (
    <button
      type="button"
      className="link-button"
      disabled={isPending}
      onClick={async () => {
        await logoutMutation({})
        window.location.assign("/login")
      }}
    >
      Log out
    </button>
  )
}
