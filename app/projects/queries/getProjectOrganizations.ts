import { resolver } from "@blitzjs/rpc"
import { z } from "zod"
import { projectOrganizationsOf, type ProjectOrganization } from "../projectData"

/** The organizations the signed-in user may create projects in; the first is createProject's default. */
export default resolver.pipe(
  resolver.zod(z.object({}).strict().nullish()),
  resolver.authorize(),
  async (_input, ctx): Promise<ProjectOrganization[]> => projectOrganizationsOf(ctx.session.userId),
)
