import { resolver } from "@blitzjs/rpc"
import db from "db"
import {
  ProjectConflictError,
  ProjectNotFoundError,
  projectSelect,
  toSummaries,
  visibleTo,
  type ProjectSummary,
} from "../projectData"
import { RenameProjectInput } from "../schemas"

/** Renames a project its owner or a member may see; an archived project keeps its name. */
export default resolver.pipe(
  resolver.zod(RenameProjectInput),
  resolver.authorize(),
  async ({ id, name }, ctx): Promise<ProjectSummary> => {
    const userId = ctx.session.userId
    // One conditional write: an archive landing between a check and the write cannot be missed.
    const { count } = await db.project.updateMany({
      where: { id, archivedAt: null, ...visibleTo(userId) },
      data: { name, changedById: userId },
    })
    const row = await db.project.findFirst({ where: { id, ...visibleTo(userId) }, select: projectSelect })
    if (!row) throw new ProjectNotFoundError()
    if (count === 0) {
      throw new ProjectConflictError("PROJECT_ARCHIVED", "This project is archived: it cannot be renamed")
    }
    const [summary] = await toSummaries([row], userId)
    return summary!
  },
)
