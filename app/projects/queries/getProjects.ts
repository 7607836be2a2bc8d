import { resolver } from "@blitzjs/rpc"
import db from "db"
import { projectSelect, toSummaries, visibleTo, type ProjectSummary } from "../projectData"
import { GetProjectsInput } from "../schemas"

/** The signed-in user's projects (owned or shared with them), newest first; archived ones on request. */
export default resolver.pipe(
  resolver.zod(GetProjectsInput),
  resolver.authorize(),
  async (input, ctx): Promise<ProjectSummary[]> => {
    const userId = ctx.session.userId
    const rows = await db.project.findMany({
      where: { ...visibleTo(userId), ...(input?.includeArchived ? {} : { archivedAt: null }) },
      orderBy: { id: "desc" },
      select: projectSelect,
    })
    return toSummaries(rows, userId)
  },
)
