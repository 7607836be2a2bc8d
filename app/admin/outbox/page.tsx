import Link from "next/link"
import { requireAdminConsole } from "app/admin/access"
import { listHeldMessages, parseOutboxCursor, seesEveryOutbox, type HeldMessage } from "./heldMessages"

export const metadata = { title: "Outbox · Admin console" }

const PREVIEW_LENGTH = 80

/** A fixed, zone-independent rendering, so server and browser print the same text. */
function formatWhen(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > PREVIEW_LENGTH ? `${line.slice(0, PREVIEW_LENGTH - 1)}…` : line || "(empty)"
}

function PersonCell({ person }: { person: HeldMessage["user"] }) {
  if (!person) return <span className="hint">—</span>
  return (
    <>
      {person.name}
      <br />
      <span className="hint">{person.email}</span>
    </>
  )
}

/**
 * /admin/outbox: the emails held during the viewer's impersonations (a SUPERADMIN: everyone's,
 * see `seesEveryOutbox`), newest first. They were never delivered, and nothing here sends them.
 */
export default async function OutboxPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>
}) {
  const { admin } = await requireAdminConsole()
  const everyone = seesEveryOutbox(admin)
  const before = parseOutboxCursor((await searchParams).before)
  const page = await listHeldMessages(admin, before === null ? {} : { before })
  return (
    <section>
      <h1>Outbox</h1>
      <p className="hint">
        Emails the app wrote on a user&apos;s behalf while{" "}
        {everyone ? "an admin was impersonating them (every admin's)" : "you were impersonating them"}. They were
        held: never sent to their recipients, and nothing on this page sends them. Times are UTC, newest first.
      </p>
      {before === null && (
        <p role="alert" className="form-error">
          That page link is not valid; showing the newest messages.
        </p>
      )}
      {page.messages.length === 0 ? (
        <p>{before ? "No older held messages." : "No held messages."}</p>
      ) : (
        <div className="table-scroll">
          <table className="audit-table outbox">
            <caption>Held messages, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Impersonation</th>
                {everyone && <th scope="col">Admin</th>}
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Text</th>
              </tr>
            </thead>
            <tbody>
              {page.messages.map((message) => (
                <tr key={message.id} data-outbox-id={message.id}>
                  <td>
                    <time dateTime={message.createdAt.toISOString()}>{formatWhen(message.createdAt)}</time>
                  </td>
                  <td>
                    {message.impersonationId !== null ? `#${message.impersonationId}` : "—"}
                    <br />
                    <PersonCell person={message.user} />
                  </td>
                  {everyone && (
                    <td>
                      <PersonCell person={message.admin} />
                    </td>
                  )}
                  <td>{message.to}</td>
                  <td>{message.subject}</td>
                  <td>
                    <details>
                      <summary>{preview(message.text)}</summary>
                      <pre className="outbox-text">{message.text}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Outbox pages" className="audit-pager">
        {before ? <Link href="/admin/outbox">Newest</Link> : null}
        {page.olderThan !== null && <Link href={`/admin/outbox?before=${page.olderThan}`}>Older</Link>}
      </nav>
    </section>
  )
}
