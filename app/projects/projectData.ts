import { AuthorizationError, NotFoundError } from "blitz"
import db, { type Prisma } from "db"

/**
 * What the Projects resolvers share: who may see a project, the shape they return (with who
 * changed it last, and the admin behind that change when it was made through an
 * impersonation), and their refusals.
 */

export type PersonRef = { id: number; name: string }

export type ProjectSummary = {
  id: number
  name: string
  createdAt: Date
  updatedAt: Date
  archivedAt: Date | null
  organization: { id: number; name: string }
  owner: PersonRef
  /** Whether the signed-in user owns it (only the owner archives and shares). */
  isOwner: boolean
  /** The user the last change was made as (the session's user, impersonated or not). */
  changedBy: PersonRef | null
  /** The admin who made the last change through an impersonation; null for the user's own change. */
  changedByActor: PersonRef | null
}

export type ProjectMemberRef = PersonRef & { email: string }

export type ProjectDetail = ProjectSummary & { members: ProjectMemberRef[] }

/** Projects `userId` owns or was shared, in organizations they (still) belong to. */
export function visibleTo(userId: number): Prisma.ProjectWhereInput {
  return {
    organization: { memberships: { some: { userId } } },
    OR: [{ ownerId: userId }, { members: { some: { userId } } }],
  }
}

export const projectSelect = {
  id: true,
  name: true,
  createdAt: true,
  updatedAt: true,
  archivedAt: true,
  ownerId: true,
  changedById: true,
  changedByActorId: true,
  organization: { select: { id: true, name: true } },
  owner: { select: { id: true, name: true } },
} satisfies Prisma.ProjectSelect

type ProjectRow = Prisma.ProjectGetPayload<{ select: typeof projectSelect }>

/** The rows as results, with the names of who changed them looked up in one query. */
export async function toSummaries<R extends ProjectRow>(rows: R[], viewerId: number) {
  const ids = [...new Set(rows.flatMap((row) => [row.changedById, row.changedByActorId]).filter((id) => id !== null))]
  const people = ids.length
    ? await db.user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } })
    : []
  const byId = new Map(people.map((person) => [person.id, person]))
  const person = (id: number | null): PersonRef | null => (id === null ? null : (byId.get(id) ?? null))
  return rows.map(({ ownerId, changedById, changedByActorId, ...row }) => ({
    ...row,
    isOwner: ownerId === viewerId,
    changedBy: person(changedById),
    changedByActor: person(changedByActorId),
  })) satisfies ProjectSummary[]
}

/** One project as `viewerId` may see it, with its members, or NotFoundError. */
export async function loadProjectDetail(id: number, viewerId: number): Promise<ProjectDetail> {
  const row = await db.project.findFirst({
    where: { id, ...visibleTo(viewerId) },
    select: {
      ...projectSelect,
      members: {
        orderBy: { createdAt: "asc" },
        select: { user: { select: { id: true, name: true, email: true } } },
      },
    },
  })
  if (!row) throw new ProjectNotFoundError()
  const { members, ...project } = row
  const [summary] = await toSummaries([project], viewerId)
  return { ...summary!, members: members.map((member) => member.user) }
}

/**
 * Someone else's project, one that does not exist and one in an organization the user left
 * all answer the same: outsiders cannot tell them apart.
 */
export class ProjectNotFoundError extends NotFoundError {
  code = "PROJECT_NOT_FOUND"
  constructor() {
    super("Project not found")
  }
}

export class NotProjectOwnerError extends AuthorizationError {
  code = "NOT_PROJECT_OWNER"
  constructor(action: "archive" | "share") {
    super(`Only the project's owner can ${action} it`)
  }
}

export type ProjectConflictCode = "PROJECT_ARCHIVED" | "ALREADY_SHARED" | "SHARE_WITH_OWNER"

/** A request that cannot apply to the project as it is now (409). */
export class ProjectConflictError extends Error {
  name = "ProjectConflictError"
  statusCode = 409
  code: ProjectConflictCode
  constructor(code: ProjectConflictCode, message: string) {
    super(message)
    this.code = code
  }
}

export type ProjectOrganization = { id: number; name: string }

/** The organizations `userId` may create projects in, oldest membership first (the default). */
export async function projectOrganizationsOf(userId: number): Promise<ProjectOrganization[]> {
  const memberships = await db.membership.findMany({
    where: { userId },
    orderBy: { id: "asc" },
    select: { organization: { select: { id: true, name: true } } },
  })
  return memberships.map((membership) => membership.organization)
}
