import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import { serverConfig } from "app/core/serverConfig"
import db from "db"
import { sendEmail, type Sent } from "mailers/outbox"
import {
  NotProjectOwnerError,
  ProjectConflictError,
  ProjectNotFoundError,
  loadProjectDetail,
  visibleTo,
  type ProjectDetail,
  type ProjectMemberRef,
} from "../projectData"
import { ShareProjectInput } from "../schemas"
import { projectLink, shareSubject, shareText } from "../shareEmail"

export type ShareProjectResult = { project: ProjectDetail; sharedWith: ProjectMemberRef; email: Sent }

/**
 * The owner shares a project with another member of its organization, who is told by email.
 * During an impersonation that email is held in the admin's outbox (mailers/outbox.ts).
 */
export default resolver.pipe(
  resolver.zod(ShareProjectInput),
  resolver.authorize(),
  async ({ id, email }, ctx): Promise<ShareProjectResult> => {
    const userId = ctx.session.userId
    const project = await db.project.findFirst({
      where: { id, ...visibleTo(userId) },
      select: {
        id: true,
        name: true,
        ownerId: true,
        archivedAt: true,
        owner: { select: { name: true } },
        organization: { select: { id: true, name: true } },
      },
    })
    if (!project) throw new ProjectNotFoundError()
    if (project.ownerId !== userId) throw new NotProjectOwnerError("share")
    if (project.archivedAt) {
      throw new ProjectConflictError("PROJECT_ARCHIVED", "This project is archived: it cannot be shared")
    }
    const membership = await db.membership.findFirst({
      where: { organizationId: project.organization.id, user: { email, status: "ACTIVE", deletedAt: null } },
      select: { user: { select: { id: true, name: true, email: true } } },
    })
    if (!membership) {
      throw Object.assign(new NotFoundError(`No member of ${project.organization.name} has the email ${email}`), {
        code: "NOT_AN_ORGANIZATION_MEMBER",
      })
    }
    const member = membership.user
    if (member.id === project.ownerId) {
      throw new ProjectConflictError("SHARE_WITH_OWNER", "You own this project: share it with someone else")
    }
    await db.$transaction(async (tx) => {
      // ON CONFLICT DO NOTHING: a second share (or two at once) adds nothing and aborts nothing.
      const { count } = await tx.projectMember.createMany({
        data: [{ projectId: project.id, userId: member.id }],
        skipDuplicates: true,
      })
      if (count === 0) {
        throw new ProjectConflictError("ALREADY_SHARED", `This project is already shared with ${member.name}`)
      }
      await tx.project.update({ where: { id: project.id }, data: { changedById: userId } })
    })
    const sent = await sendEmail({
      to: member.email,
      subject: shareSubject(project.owner.name, project.name),
      text: shareText({
        recipientName: member.name,
        ownerName: project.owner.name,
        projectName: project.name,
        organizationName: project.organization.name,
        link: projectLink(serverConfig.http.appOrigin, project.id),
      }),
    })
    return { project: await loadProjectDetail(project.id, userId), sharedWith: member, email: sent }
  },
)
