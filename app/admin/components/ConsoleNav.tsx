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

/** The admin console's own sub-navigation, shown above each console page. */
export function ConsoleNav() {
  const pathname = usePathname()
  return (
    <nav aria-label="Admin console" className="console-nav">
      {CONSOLE_PAGES.map(({ href, label }) => {
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
