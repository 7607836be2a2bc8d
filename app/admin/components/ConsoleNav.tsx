"use client"
import Link from "next/link"
import { usePathname } from "next/navigation"

const CONSOLE_PAGES = [
  { href: "/admin", label: "Switch to User" },
  { href: "/admin/users", label: "Users" },
  { href: "/admin/impersonations", label: "Active impersonations" },
  { href: "/admin/audit", label: "Audit log" },
  { href: "/admin/outbox", label: "Outbox" },
] as const

/** SUPERADMIN only (the page checks it on the server too). */
const SUPERADMIN_PAGES = [{ href: "/admin/integrations", label: "Integrations" }] as const

/** The admin console's own sub-navigation, shown above each console page. */
export function ConsoleNav({ superadmin = false }: { superadmin?: boolean }) {
  const pathname = usePathname()
  const pages = superadmin ? [...CONSOLE_PAGES, ...SUPERADMIN_PAGES] : CONSOLE_PAGES
  return (
    <nav aria-label="Admin console" className="console-nav">
      {pages.map(({ href, label }) => {
        const current = href === "/admin" ? pathname === href : pathname.startsWith(href)
        return (
          <Link key={href} href={href} aria-current={current ? "page" : undefined}>
            {label}
          </Link>
        )
      })}
    </nav>
  )
}
