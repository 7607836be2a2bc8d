import { resolver } from "@blitzjs/rpc"
import { loadProjectDetail, type ProjectDetail } from "../projectData"
import { GetProjectInput } from "../schemas"

/** One project, with its members, for its owner or a member it was shared with; NotFoundError otherwise. */
export default resolver.pipe(
  resolver.zod(GetProjectInput),
  resolver.authorize(),
  async ({ id }, ctx): Promise<ProjectDetail> => loadProjectDetail(id, ctx.session.userId),
)
