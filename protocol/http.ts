// HTTP request/response shapes shared by the server routes (which validate them) and the web client.
import { Type, type Static } from '@sinclair/typebox';

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 10, maxLength: 200 });

export const LoginBody = Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const LoginReply = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer(),
  account: Type.Object({
    id: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    role: Type.Union([Type.Literal('agent'), Type.Literal('supervisor'), Type.Literal('admin')]),
    mustChangePassword: Type.Boolean(),
  }),
});
export type LoginReply = Static<typeof LoginReply>;

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 200 }), newPassword: Password },
  { additionalProperties: false },
);

export const VisitorTokenBody = Type.Object(
  { displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })) },
  { additionalProperties: false },
);
export const VisitorTokenReply = Type.Object({ token: Type.String(), customerId: Type.String(), expiresAt: Type.Integer() });
export type VisitorTokenReply = Static<typeof VisitorTokenReply>;

export const Role = Type.Union([Type.Literal('agent'), Type.Literal('supervisor'), Type.Literal('admin')]);
export const SkillLevel = Type.Object({ skill: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_-]+$' }), level: Type.Integer({ minimum: 1, maximum: 10 }) });

export const CreateAccountBody = Type.Object(
  {
    email: Email,
    displayName: Type.String({ minLength: 1, maxLength: 80 }),
    role: Role,
    password: Password,
    skills: Type.Optional(Type.Array(SkillLevel, { maxItems: 50 })),
    languages: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{2,3}$' }), { maxItems: 20 })),
    chatCapacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type CreateAccountBody = Static<typeof CreateAccountBody>;

export const AccountView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  role: Role,
  skills: Type.Array(SkillLevel),
  languages: Type.Array(Type.String()),
  chatCapacity: Type.Integer(),
  createdAt: Type.Integer(),
});
export type AccountView = Static<typeof AccountView>;

export const QueueView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  requiredSkill: Type.Union([Type.String(), Type.Null()]),
  waiting: Type.Integer(),
});
export type QueueView = Static<typeof QueueView>;

export const CreateQueueBody = Type.Object(
  {
    id: Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' }),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    description: Type.Optional(Type.String({ maxLength: 300 })),
    requiredSkill: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_-]+$' }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type CreateQueueBody = Static<typeof CreateQueueBody>;

export const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), data: Type.Optional(Type.Any()) }),
  requestId: Type.Optional(Type.String()),
});

export const ReadinessReply = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('not_ready')]),
  checks: Type.Record(
    Type.String(),
    Type.Object({ state: Type.String(), detail: Type.Optional(Type.String()), required: Type.Boolean() }),
  ),
});
