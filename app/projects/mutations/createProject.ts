import { resolver } from "@blitzjs/rpc"
import { AuthorizationError } from "blitz"
import db from "db"
import { projectOrganizationsOf, projectSelect, toSummaries, type ProjectSummary } from "../projectData"
import { CreateProjectInput } from "../schemas"

/** A new project owned by the signed-in user, in one of their organizations (by default their first). */
export default resolver.pipe(
  resolver.zod(CreateProjectInput),
  resolver.authorize(),
  async ({ name, organizationId }, ctx): Promise<ProjectSummary> => {
    const userId = ctx.session.userId
    const organizations = await projectOrganizationsOf(userId)
    if (organizations.length === 0) {
      throw new AuthorizationError("Join an organization before creating a project")
    }
    const organization =
      organizationId === undefined ? organizations[0] : organizations.find((o) => o.id === organizationId)
    if (!organization) {
      throw new AuthorizationError("You can only create projects in an organization you belong to")
    }
    const row = await db.project.create({
      data: { name, organizationId: organization.id, ownerId: userId, changedById: userId },
      select: projectSelect,
    })
    const [summary] = await toSummaries([row], userId)
    return summary!
  },
)
