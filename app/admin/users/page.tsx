import Link from "next/link"
import { requireAdminConsole } from "app/admin/access"
import {
  directoryQueryFromSearchParams,
  searchDirectory,
  type DirectoryPage,
  type DirectoryRow,
} from "app/admin/directory"
import { serverConfig } from "app/core/serverConfig"
import { ImpersonateButton } from "app/impersonation/components/ImpersonateDialog"
import { seesWholePlatform } from "app/impersonation/policy"

export const metadata = { title: "Users · Admin console" }

const ROLE_NAMES = { USER: "User", SUPPORT: "Support", SUPERADMIN: "Superadmin" } as const
const ORG_ROLE_NAMES = { OWNER: "Owner", ADMIN: "Admin", MEMBER: "Member" } as const
const STATUS_NAMES = { ACTIVE: "Active", DISABLED: "Disabled" } as const

function pageHref(term: string, cursor: { after: number } | { before: number }) {
  const params = new URLSearchParams()
  if (term) params.set("q", term)
  for (const [key, value] of Object.entries(cursor)) params.set(key, String(value))
  return `/admin/users?${params.toString()}`
}

function UserRow({ row, ttlSeconds }: { row: DirectoryRow; ttlSeconds: number }) {
  return (
    <tr>
      <td>{row.name}</td>
      <td>{row.email}</td>
      <td>{ROLE_NAMES[row.role]}</td>
      <td>{STATUS_NAMES[row.status]}</td>
      <td>
        {row.organizations.length === 0 ? (
          <span className="hint">None</span>
        ) : (
          <ul className="inline-list">
            {row.organizations.map((organization) => (
              <li key={organization.id}>
                <Link href={`/organizations/${organization.id}`}>{organization.name}</Link> (
                {ORG_ROLE_NAMES[organization.role]})
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        {row.eligibility.allowed ? (
          <>
            <ImpersonateButton
              target={{ id: row.id, name: row.name, email: row.email, approvalRequired: row.eligibility.approvalRequired }}
              ttlSeconds={ttlSeconds}
            />
            {row.eligibility.hint && <span className="hint"> {row.eligibility.hint}</span>}
          </>
        ) : (
          <span className="hint">{row.eligibility.message}</span>
        )}
      </td>
    </tr>
  )
}

function Paging({ term, page }: { term: string; page: DirectoryPage }) {
  if (page.previousCursor === null && page.nextCursor === null) return null
  return (
    <nav aria-label="Pages" className="paging">
      {page.previousCursor !== null ? (
        <Link href={pageHref(term, { before: page.previousCursor })} rel="prev">
          Previous
        </Link>
      ) : (
        <span aria-disabled="true">Previous</span>
      )}
      {page.nextCursor !== null ? (
        <Link href={pageHref(term, { after: page.nextCursor })} rel="next">
          Next
        </Link>
      ) : (
        <span aria-disabled="true">Next</span>
      )}
    </nav>
  )
}

export default async function UsersPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>
}) {
  const { admin } = await requireAdminConsole()
  const parsed = directoryQueryFromSearchParams(await searchParams)
  const term = parsed.ok ? parsed.query.term : parsed.term
  const page = parsed.ok ? await searchDirectory({ viewer: admin, ...parsed.query }) : null
  const ttlSeconds = serverConfig.impersonation.ttlSeconds
  return (
    <section className="wide">
      <h1>Users</h1>
      <p className="hint">
        {seesWholePlatform(admin)
          ? "Everyone on the platform."
          : "Members of the organizations you administer."}
      </p>
      <form method="get" action="/admin/users" role="search" className="search-form">
        <label htmlFor="directory-search">Search users</label>
        <input
          id="directory-search"
          type="search"
          name="q"
          defaultValue={term}
          maxLength={100}
          placeholder="Name or email"
          autoComplete="off"
        />
        <button type="submit">Search</button>
      </form>
      {!parsed.ok && (
        <p role="alert" className="form-error">
          {parsed.message}
        </p>
      )}
      {page && page.rows.length === 0 && (
        <p>{term ? `No users match “${term}”.` : "No users to show."}</p>
      )}
      {page && page.rows.length > 0 && (
        <>
          <table className="directory">
            <caption className="visually-hidden">
              {term ? `Users matching “${term}”` : "Users"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Organizations</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row) => (
                <UserRow key={row.id} row={row} ttlSeconds={ttlSeconds} />
              ))}
            </tbody>
          </table>
          <Paging term={term} page={page} />
        </>
      )}
    </section>
  )
}
