import { redirect } from "next/navigation"
import { LoginForm } from "app/auth/components/LoginForm"
import { serverConfig } from "app/core/serverConfig"
import { DEMO_PASSWORD, DEMO_USERS, describeDemoUser } from "db/demoAccounts"
import { loadCurrentUser } from "app/users/currentUser"

export default async function LoginPage() {
  if (await loadCurrentUser()) redirect("/")
  return (
    <section className="narrow">
      <h1>Log in</h1>
      <LoginForm />
      {serverConfig.demoMode && (
        <section aria-labelledby="demo-accounts">
          <h2 id="demo-accounts">Demo accounts</h2>
          <p>
            Every demo account's password is <code>{DEMO_PASSWORD}</code>.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Who</th>
                <th scope="col">Password</th>
              </tr>
            </thead>
            <tbody>
              {DEMO_USERS.map((demo) => (
                <tr key={demo.email}>
                  <td>{demo.email}</td>
                  <td>{describeDemoUser(demo)}</td>
                  <td>
                    <code>{DEMO_PASSWORD}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  )
}
