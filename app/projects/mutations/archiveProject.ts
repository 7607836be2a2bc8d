import { resolver } from "@blitzjs/rpc"
import db from "db"
import {
  NotProjectOwnerError,
  ProjectNotFoundError,
  projectSelect,
  toSummaries,
  visibleTo,
  type ProjectSummary,
} from "../projectData"
import { ArchiveProjectInput } from "../schemas"

/** Archives a project (its owner only). Archiving an archived project changes nothing. */
export default resolver.pipe(
  resolver.zod(ArchiveProjectInput),
  resolver.authorize(),
  async ({ id }, ctx): Promise<ProjectSummary> => {
    const userId = ctx.session.userId
    const current = await db.project.findFirst({ where: { id, ...visibleTo(userId) }, select: projectSelect })
    if (!current) throw new ProjectNotFoundError()
    if (current.ownerId !== userId) throw new NotProjectOwnerError("archive")
    let row = current
    if (current.archivedAt === null) {
      await db.project.updateMany({
        where: { id, ownerId: userId, archivedAt: null },
        data: { archivedAt: new Date(), changedById: userId },
      })
      const updated = await db.project.findUnique({ where: { id }, select: projectSelect })
      if (!updated) throw new ProjectNotFoundError()
      row = updated
    }
    const [summary] = await toSummaries([row], userId)
    return summary!
  },
)
