import type { Metadata } from "next"
import Link from "next/link"
import type { ReactNode } from "react"
import { adminConsoleAccess } from "app/admin/access"
import { LogoutButton } from "app/auth/components/LogoutButton"
import { BlitzProvider } from "app/blitz-client"
import { serverConfig } from "app/core/serverConfig"
import { AccessRequestNotice } from "app/access/components/AccessRequestNotice"
import { LiveAccessNotice } from "app/access/components/LiveAccessNotice"
import { ImpersonatingUserNotice } from "app/impersonation/components/ImpersonatingUserNotice"
import { loadCurrentUser } from "app/users/currentUser"
import "./globals.css"

export const metadata: Metadata = { title: "Acme Support Console" }
// Every page depends on the session cookie.
export const dynamic = "force-dynamic"

export default async function RootLayout({ children }: { children: ReactNode }) {
  const user = await loadCurrentUser()
  const showAdminLink = user ? (await adminConsoleAccess(user)).allowed : false
  return (
    <html lang="en">
      <body>
        <BlitzProvider>
          {serverConfig.demoMode && (
            <p className="demo-strip" role="note">
              Demo data: do not use in production
            </p>
          )}
          <ImpersonatingUserNotice user={user} />
          {/* The user's own notices (never shown to an admin acting as them): support in the account now, requests to answer. */}
          {user && !user.impersonator && (
            <>
              <LiveAccessNotice />
              <AccessRequestNotice />
            </>
          )}
          <header className="top-bar">
            <nav aria-label="Main">
              <Link href="/">Home</Link>
              {user && <Link href="/projects">Projects</Link>}
              {user && <Link href="/settings">Settings</Link>}
              {user && <Link href="/account/security">Security</Link>}
              {showAdminLink && <Link href="/admin">Admin console</Link>}
            </nav>
            <div className="who">
              {user ? (
                <>
                  <span>{user.email}</span> <LogoutButton />
                </>
              ) : (
                <Link href="/login">Log in</Link>
              )}
            </div>
          </header>
          <main>{children}</main>
        </BlitzProvider>
      </body>
    </html>
  )
}
