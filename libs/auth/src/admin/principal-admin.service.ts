import { Inject, Injectable } from '@nestjs/common';
import { BrokerError, ErrorCode, isUuid, ValidationFailedError, textProblem } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { AuthService } from '../auth.service';
import { AuthenticatedPrincipal, Role, ROLES } from '../authenticated-principal';
import { PrincipalEntity } from '../principal.entity';
import { generateToken, hashToken } from '../token-codec';
import { mergePrincipalUpdate, newPrincipalOf } from './principal-document';
import { NewPrincipalDto, PrincipalUpdateDto, TokenRequestDto } from './principal.dto';
import { PrincipalAdminRepository } from './principal-admin.repository';
import { IssuedTokenView, PrincipalView, TokenView, toPrincipalView, toTokenView } from './principal.views';

const MAX_PAGE_SIZE = 2047;

export interface PrincipalPageView {
  principals: PrincipalView[];
  next_page_token: string | null;
}

/** Principals and tokens as admins manage them; creation and issuing go through AuthService. */
@Injectable()
export class PrincipalAdminService {
  constructor(
    private readonly auth: AuthService,
    private readonly repo: PrincipalAdminRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(body: NewPrincipalDto): Promise<{ principal: PrincipalView; token: IssuedTokenView | null }> {
    const doc = newPrincipalOf(body);
    await this.assertHomeStore(doc.principal.homeDataStoreId);
    const created = await this.auth.createPrincipal(doc.principal);
    const token = doc.issueToken ? await this.issue(created.id, doc.tokenDescription) : null;
    return { principal: toPrincipalView(created), token };
  }

  async list(query: Record<string, unknown>): Promise<PrincipalPageView> {
    const errors: { path: string; reason: string }[] = [];
    let pageSize = this.config.pageSizeDefault;
    let after: string | undefined;
    let role: Role | undefined;
    for (const [key, raw] of Object.entries(query)) {
      const value = typeof raw === 'string' ? raw : undefined;
      if (
        key === 'page_size' &&
        value !== undefined &&
        /^\d+$/.test(value) &&
        +value >= 1 &&
        +value <= MAX_PAGE_SIZE
      ) {
        pageSize = Number(value);
      } else if (key === 'page_size') {
        errors.push({ path: key, reason: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
      } else if (key === 'page_token') {
        const decoded = Buffer.from(value ?? '', 'base64url').toString('utf8');
        if (isUuid(decoded)) after = decoded.toLowerCase();
        else errors.push({ path: key, reason: 'is not a page token this server issued' });
      } else if (key === 'role') {
        if ((ROLES as readonly string[]).includes(value ?? '')) role = value as Role;
        else errors.push({ path: key, reason: `must be one of ${ROLES.join(', ')}` });
      } else {
        errors.push({ path: key, reason: 'is not a known query parameter' });
      }
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
    const rows = await this.repo.listPrincipals({ pageSize, after, role });
    const more = rows.length > pageSize;
    const shown = more ? rows.slice(0, pageSize) : rows;
    return {
      principals: shown.map(toPrincipalView),
      next_page_token: more ? Buffer.from(shown[shown.length - 1].id).toString('base64url') : null,
    };
  }

  async get(ref: string): Promise<PrincipalView> {
    return toPrincipalView(await this.find(ref));
  }

  async update(ref: string, body: PrincipalUpdateDto): Promise<PrincipalView> {
    const current = await this.find(ref);
    const next = mergePrincipalUpdate(body, current);
    if (next.homeDataStoreId !== current.homeDataStoreId) await this.assertHomeStore(next.homeDataStoreId);
    if (next.role !== 'admin') await this.assertAnotherAdmin(current);
    const updated = await this.repo.updatePrincipal(current.id, next);
    this.auth.forgetCachedLookups();
    return toPrincipalView(updated);
  }

  private async assertHomeStore(id: string | null): Promise<void> {
    if (id !== null && !(await this.repo.dataStoreExists(id))) {
      throw new ValidationFailedError([
        { path: 'home_data_store_id', reason: 'names no registered data store' },
      ]);
    }
  }

  async delete(caller: AuthenticatedPrincipal, ref: string): Promise<void> {
    const target = await this.find(ref);
    if (target.id === caller.id) {
      throw new BrokerError(ErrorCode.Conflict, 'an admin cannot delete itself; ask another admin');
    }
    await this.assertAnotherAdmin(target);
    await this.repo.deletePrincipal(target.id);
    this.auth.forgetCachedLookups();
  }

  async listTokens(ref: string): Promise<{ tokens: TokenView[] }> {
    const p = await this.find(ref);
    return { tokens: (await this.repo.listTokens(p.id)).map(toTokenView) };
  }

  async issueFor(ref: string, body: TokenRequestDto | undefined): Promise<IssuedTokenView> {
    const description = body?.description ?? 'issued by an admin';
    const p = await this.find(ref);
    return this.issue(p.id, description);
  }

  async revoke(tokenId: string, now = new Date()): Promise<void> {
    if (!isUuid(tokenId)) throw new BrokerError(ErrorCode.TokenNotFound, `no active token ${tokenId}`);
    await this.auth.revokeToken(tokenId.toLowerCase(), now);
  }

  /** The caller swaps the token it authenticated with for a new one; the old one stops working at once. */
  async rotateOwn(
    caller: AuthenticatedPrincipal,
    body: TokenRequestDto | undefined,
    now = new Date(),
  ): Promise<IssuedTokenView> {
    const requested = body?.description;
    const old = await this.repo.findToken(caller.tokenId);
    const token = generateToken();
    const saved = await this.repo.rotate(
      caller.tokenId,
      hashToken(token),
      requested ?? old?.description ?? 'rotated',
      now,
    );
    this.auth.forgetCachedLookups();
    if (!saved)
      throw new BrokerError(
        ErrorCode.Unauthenticated,
        'the token used for this request was revoked meanwhile',
      );
    return { ...toTokenView(saved), token };
  }

  private async issue(principalId: string, description: string): Promise<IssuedTokenView> {
    const issued = await this.auth.issueToken(principalId, description);
    const saved = await this.repo.findToken(issued.tokenId);
    if (!saved) throw new Error(`token ${issued.tokenId} vanished right after it was issued`);
    return { ...toTokenView(saved), token: issued.token };
  }

  private async find(ref: string): Promise<PrincipalEntity> {
    // A reference PostgreSQL cannot even compare (NUL, lone surrogates) names nothing.
    const p = textProblem(ref) ? null : await this.repo.findPrincipal(ref);
    if (!p) throw new BrokerError(ErrorCode.PrincipalNotFound, `no principal ${ref.slice(0, 100)}`);
    return p;
  }

  /** The installation must keep an admin: nobody else can approve sites or make principals. */
  private async assertAnotherAdmin(target: PrincipalEntity): Promise<void> {
    if (target.role === 'admin' && (await this.repo.countAdmins()) <= 1) {
      throw new BrokerError(ErrorCode.Conflict, `${target.name} is the last admin; make another admin first`);
    }
  }
}
