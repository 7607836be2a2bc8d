"use client"
import { useMutation } from "@blitzjs/rpc"
import createActorToken from "../mutations/createActorToken"
import { useImpersonateDialog } from "./ImpersonateDialog"

/**
 * The dialog's "Open in new tab" (the SaaS console's flow): creates a single-use actor token
 * from the dialog's Reason, Ticket link and mode (read-write steps up here), and opens its ticket page in a new tab, where
 * "Start" begins the impersonation. This tab stays on the console.
 */
export function OpenInNewTabButton() {
  const dialog = useImpersonateDialog()
  const [createActorTokenMutation] = useMutation(createActorToken, { throwOnError: false })
  return (
    <button
      type="button"
      className="secondary"
      disabled={dialog.busy}
      onClick={async () => {
        dialog.showError(null)
        const input = dialog.readInput()
        if (!input || dialog.busy) return
        dialog.setBusy(true)
        try {
          const { url } = await createActorTokenMutation(input)
          window.open(url, "_blank", "noopener")
          dialog.setBusy(false)
          dialog.close()
        } catch (failure) {
          dialog.showRefusal(failure)
          dialog.clearPassword()
          dialog.setBusy(false)
        }
      }}
    >
      Open in new tab
    </button>
  )
}
