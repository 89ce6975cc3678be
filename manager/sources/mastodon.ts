// A Mastodon Status (the data of a streaming `update` event) to a post. The JSON comes from outside:
// it is checked against the fields used, and anything else in it is ignored.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { htmlToText } from '../html-text.js';
import { httpUrl, languageCode, parseDate, type CollectedPost } from '../post.js';

const NullableString = Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]);

const StatusFields = {
  id: Type.String({ minLength: 1, maxLength: 200 }),
  url: Type.Optional(NullableString),
  uri: Type.Optional(NullableString),
  content: Type.String({ maxLength: 200_000 }),
  spoiler_text: Type.Optional(Type.String({ maxLength: 10_000 })),
  created_at: Type.String({ maxLength: 64 }),
  language: Type.Optional(NullableString),
  account: Type.Object({
    acct: Type.String({ maxLength: 300 }),
    display_name: Type.Optional(Type.String({ maxLength: 300 })),
    url: Type.Optional(NullableString),
    followers_count: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
};
const Status = Type.Object({ ...StatusFields, reblog: Type.Optional(Type.Union([Type.Object(StatusFields), Type.Null()])) });
type Status = Static<typeof Status>;

export class StatusError extends Error {
  override name = 'StatusError';
}

/** Parses an `update` event's data. A boost stands for the boosted status. Throws StatusError. */
export function statusToPost(data: string, sourceId: string): CollectedPost {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new StatusError('update event data is not JSON');
  }
  if (!Value.Check(Status, json)) {
    const first = [...Value.Errors(Status, json)][0];
    throw new StatusError(`update event is not a status${first ? `: ${first.path} ${first.message}` : ''}`);
  }
  const status: Omit<Status, 'reblog'> = (json as Status).reblog ?? (json as Status);
  const publishedAt = parseDate(status.created_at);
  if (publishedAt === undefined) throw new StatusError(`status ${status.id}: unreadable created_at`);
  const url = httpUrl(status.url ?? status.uri ?? undefined);
  const authorUrl = httpUrl(status.account.url ?? undefined);
  const language = languageCode(status.language ?? undefined);
  const spoiler = status.spoiler_text ? htmlToText(status.spoiler_text) : '';
  return {
    sourceId,
    externalId: status.id,
    ...(url ? { url } : {}),
    text: htmlToText(status.content),
    ...(spoiler ? { title: spoiler } : {}),
    author: {
      handle: status.account.acct,
      ...(status.account.display_name ? { name: status.account.display_name } : {}),
      ...(authorUrl ? { url: authorUrl } : {}),
      ...(status.account.followers_count !== undefined ? { reach: status.account.followers_count } : {}),
    },
    ...(language ? { language } : {}),
    publishedAt,
  };
}
