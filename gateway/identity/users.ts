import type { ControlStore } from '../../lib/control-store/index.ts'
import { hashPassword, verifyPassword } from './passwords.ts'
import type { Principal } from './token-service.ts'

export interface UserRecord {
  id: string
  name: string
  passwordHash: string
  /** Project id -> roles held there. */
  projects: Record<string, string[]>
}

export interface ProjectRecord {
  id: string
  name: string
}

const userKey = (name: string): string => `identity/users/${name}`
const projectKey = (id: string): string => `identity/projects/${id}`

/**
 * Users and projects in the control store. Today that is the bootstrap
 * admin (user `admin`, project `admin`, role admin), created or updated from
 * the operator's password at start; the identity issue adds the rest.
 */
export class Users {
  private readonly control: ControlStore

  constructor (components: { control: ControlStore }) {
    this.control = components.control
  }

  /** Makes the bootstrap admin match `password` (a changed RINGSTACK_ADMIN_PASSWORD file takes effect on restart). */
  async ensureBootstrapAdmin (password: string): Promise<void> {
    const existing = await this.control.get<UserRecord>(userKey('admin'))
    if (existing !== undefined && await verifyPassword(password, existing.value.passwordHash)) return
    const admin: UserRecord = { id: 'admin', name: 'admin', passwordHash: await hashPassword(password), projects: { admin: ['admin', 'member', 'reader'] } }
    const project: ProjectRecord = { id: 'admin', name: 'admin' }
    await this.control.commit([{ key: userKey('admin'), modRevision: existing?.modRevision ?? 0 }], [
      { type: 'put', key: userKey('admin'), value: admin },
      { type: 'put', key: projectKey(project.id), value: project }
    ])
  }

  /** The principal for a password login scoped to a project (by id or name), or undefined. */
  async login (userName: string, password: string, project: string): Promise<Principal | undefined> {
    const user = await this.control.get<UserRecord>(userKey(userName))
    if (user === undefined || !await verifyPassword(password, user.value.passwordHash)) return undefined
    const projects = await this.control.list<ProjectRecord>('identity/projects/')
    const scoped = projects.map((p) => p.value).find((p) => p.id === project || p.name === project)
    const roles = scoped === undefined ? undefined : user.value.projects[scoped.id]
    if (scoped === undefined || roles === undefined) return undefined
    return { userId: user.value.id, userName: user.value.name, projectId: scoped.id, projectName: scoped.name, roles }
  }
}
