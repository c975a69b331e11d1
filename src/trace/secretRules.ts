/**
 * The provider secret formats `scrub.ts` knows, as one table: each row is a redaction kind (`id`), the shape of
 * the secret (`pattern`, a regex source without boundaries), the keywords one of which every text
 * holding it contains (a cheap pre-filter, so hundreds of rows cost little), and optionally a minimum Shannon
 * entropy, the names it must be assigned to (`near`: for formats with no prefix of their own, e.g. a Twitter
 * secret is 50 letters and digits after a `twitter…` name) and an allowlist. Adding a provider is one row.
 *
 * The formats (prefixes, lengths, alphabets, the names beside them) are those documented by the providers and
 * collected by public rule sets such as gitleaks' default configuration; the rows are written here, in our form.
 * Formats already handled by a dedicated rule in scrub.ts (OpenAI, Anthropic, GitHub, AWS key ids, Slack, Google
 * API keys, JWTs, Hugging Face, private keys) are not repeated.
 */

/** One secret format. */
export interface ISecretRule {
  /** The redaction kind: `[REDACTED:<id>]`, and the `kind` of its `redactions` entries. */
  id: string;
  /** Regex source of the secret (JavaScript syntax, no lookarounds); a `secret` group, when given, is what goes. */
  pattern: string;
  /** Lower-case strings one of which every text with a match contains (its name's for `near` rules). */
  keywords: string[];
  /** Regex source of the names the secret must be assigned to (`near_name = secret`, `"near-key": "…"`…). */
  near?: string;
  /** Minimum Shannon entropy of the secret, in bits per character. */
  entropy?: number;
  /** Matches that are not secrets. */
  allow?: RegExp;
  /** The pattern ignores case (always so for `near` rules). */
  ignoreCase?: boolean;
  /** A regex the whole text must match for the rule to run (e.g. a Kubernetes `kind: Secret`). */
  within?: RegExp;
}

type Row = [id: string, pattern: string, keywords: string[], entropy?: number, ignoreCase?: boolean];

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const B64 = 'A-Za-z0-9+/';

/** Formats with a prefix of their own: found wherever they appear. */
const PREFIXED: Row[] = [
  ['onepassword_secret_key', 'A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}', ['A3-'], 3.8],
  ['onepassword_service_token', `ops_eyJ[${B64}]{250,}={0,3}`, ['ops_eyJ'], 4],
  ['adobe_client_secret', 'p8e-[A-Za-z0-9]{32}', ['p8e-'], 2],
  ['age_secret_key', 'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}', ['AGE-SECRET-KEY-1']],
  ['airtable_pat', 'pat[A-Za-z0-9]{14}\\.[a-f0-9]{64}', ['pat']],
  ['alibaba_access_key_id', 'LTAI[A-Za-z0-9]{20}', ['LTAI'], 2],
  ['artifactory_api_key', 'AKCp[A-Za-z0-9]{69}', ['AKCp'], 4.5],
  ['artifactory_reference_token', 'cmVmd[A-Za-z0-9]{59}', ['cmVmd'], 4.5],
  ['atlassian_api_token', 'ATATT3[A-Za-z0-9_=-]{186}', ['ATATT3'], 3.5],
  ['authress_access_key', '(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\\.[A-Za-z0-9]{4,6}\\.acc[_-][A-Za-z0-9-]{10,32}\\.[A-Za-z0-9+/_=-]{30,120}', ['.acc'], 2],
  ['aws_bedrock_api_key', `ABSK[${B64}]{109,269}={0,2}`, ['ABSK'], 3],
  ['aws_bedrock_short_lived_key', `bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[${B64}=%]*`, ['bedrock-api-key-']],
  ['azure_ad_client_secret', '[A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}', ['Q~'], 3],
  ['clickhouse_api_secret', '4b1d[A-Za-z0-9]{38}', ['4b1d'], 3],
  ['clojars_token', 'CLOJARS_[A-Za-z0-9]{60}', ['CLOJARS_'], 2],
  ['cloudflare_origin_ca_key', 'v1\\.0-[a-f0-9]{24}-[a-f0-9]{146}', ['v1.0-'], 2],
  ['databricks_token', 'dapi[a-f0-9]{32}(?:-\\d)?', ['dapi'], 3],
  ['defined_networking_token', 'dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}', ['dnkey-']],
  ['digitalocean_token', 'do[opr]_v1_[a-f0-9]{64}', ['doo_v1_', 'dop_v1_', 'dor_v1_'], 3],
  ['doppler_token', 'dp\\.pt\\.[A-Za-z0-9]{43}', ['dp.pt.'], 2],
  ['dropbox_short_lived_token', 'sl\\.[A-Za-z0-9_=-]{135}', ['sl.'], 3],
  ['duffel_token', 'duffel_(?:test|live)_[A-Za-z0-9_=-]{43}', ['duffel_'], 2],
  ['dynatrace_token', 'dt0c01\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{64}', ['dt0c01.'], 4],
  ['easypost_token', 'EZ[AT]K[A-Za-z0-9]{54}', ['EZAK', 'EZTK'], 2],
  ['facebook_page_token', 'EAA[MC][A-Za-z0-9]{100,}', ['EAAM', 'EAAC'], 4],
  ['facebook_access_token', '\\d{15,16}(?:\\||%7C)[0-9A-Za-z_-]{27,40}', ['facebook', 'fb_', '%7c'], 3, true],
  ['flutterwave_key', 'FLW(?:SECK|PUBK)_TEST-[a-hA-H0-9]{32}-X|FLWSECK_TEST-[a-hA-H0-9]{12}', ['FLWSECK_TEST', 'FLWPUBK_TEST'], 2],
  ['flyio_token', `fo1_[\\w-]{43}|fm1[ar]_[${B64}]{100,}={0,3}|fm2_[${B64}]{100,}={0,3}`, ['fo1_', 'fm1a_', 'fm1r_', 'fm2_'], 4],
  ['frameio_token', 'fio-u-[A-Za-z0-9_=-]{64}', ['fio-u-']],
  ['gitlab_pat', 'glpat-[\\w-]{20,300}(?:\\.[0-9a-z]{9})?', ['glpat-'], 3],
  ['gitlab_cicd_job_token', 'glcbt-[0-9a-zA-Z]{1,5}_[\\w-]{20}', ['glcbt-'], 3],
  ['gitlab_deploy_token', 'gldt-[\\w-]{20}', ['gldt-'], 3],
  ['gitlab_feature_flag_token', 'glffct-[\\w-]{20}', ['glffct-'], 3],
  ['gitlab_feed_token', 'glft-[\\w-]{20}', ['glft-'], 3],
  ['gitlab_incoming_mail_token', 'glimt-[\\w-]{25}', ['glimt-'], 3],
  ['gitlab_agent_token', 'glagent-[\\w-]{50}', ['glagent-'], 3],
  ['gitlab_oauth_secret', 'gloas-[\\w-]{64}', ['gloas-'], 3],
  ['gitlab_pipeline_trigger_token', 'glptt-[0-9a-f]{40}', ['glptt-'], 3],
  ['gitlab_runner_registration_token', 'GR1348941[\\w-]{20}', ['GR1348941'], 3],
  ['gitlab_runner_token', 'glrt-[\\w-]{20,300}(?:\\.[0-9a-z]{9})?', ['glrt-'], 3],
  ['gitlab_scim_token', 'glsoat-[\\w-]{20}', ['glsoat-'], 3],
  ['gitlab_session_cookie', '_gitlab_session=(?<secret>[0-9a-z]{32})', ['_gitlab_session='], 3],
  ['grafana_api_key', 'eyJrIjoi[A-Za-z0-9]{70,400}={0,3}', ['eyJrIjoi'], 3],
  ['grafana_cloud_token', `glc_[${B64}]{32,400}={0,3}`, ['glc_'], 3],
  ['grafana_service_account_token', 'glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}', ['glsa_'], 3],
  ['harness_api_key', '(?:pat|sat)\\.[\\w-]{22}\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{20}', ['pat.', 'sat.']],
  ['hashicorp_tf_token', '[A-Za-z0-9]{14}\\.atlasv1\\.[\\w=-]{60,70}', ['atlasv1'], 3.5],
  ['heroku_api_key_v2', 'HRKU-AA[\\w-]{58}', ['HRKU-AA'], 4],
  ['infracost_token', 'ico-[A-Za-z0-9]{32}', ['ico-'], 3],
  ['intra42_client_secret', 's-s4t2(?:ud|af)-[a-f0-9]{64}', ['s-s4t2'], 3],
  ['linear_api_key', 'lin_api_[A-Za-z0-9]{40}', ['lin_api_'], 2],
  ['mailchimp_api_key', '[a-f0-9]{32}-us\\d{1,2}', ['-us'], 3],
  ['mapbox_token', '[ps]k\\.eyJ[A-Za-z0-9_-]{20,}\\.[A-Za-z0-9_-]{20,}|pk\\.[A-Za-z0-9]{60}\\.[A-Za-z0-9]{22}', ['pk.', 'sk.eyJ'], 3],
  ['maxmind_license_key', '[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk', ['_mmk'], 4],
  ['microsoft_teams_webhook', `https://[a-z0-9]+\\.webhook\\.office\\.com/webhookb2/${UUID}@${UUID}/IncomingWebhook/[a-z0-9]{32}/${UUID}`, ['webhook.office.com']],
  ['new_relic_key', 'NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9-]{32}|NRJS-[a-f0-9]{19}', ['NRAK-', 'NRII-', 'NRJS-'], 2],
  ['notion_token', 'ntn_\\d{11}[A-Za-z0-9]{35}', ['ntn_'], 4],
  ['npm_token', 'npm_[A-Za-z0-9]{36}', ['npm_'], 2],
  ['octopus_deploy_api_key', 'API-[A-Z0-9]{26}', ['API-'], 3],
  ['openshift_token', 'sha256~[\\w-]{43}', ['sha256~'], 3.5],
  ['perplexity_api_key', 'pplx-[A-Za-z0-9]{48}', ['pplx-'], 4],
  ['planetscale_token', 'pscale_(?:tkn|oauth|pw)_[\\w=.-]{32,64}', ['pscale_'], 3],
  ['postman_api_key', 'PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}', ['PMAK-'], 3],
  ['prefect_token', 'pnu_[A-Za-z0-9]{36}', ['pnu_'], 2],
  ['pulumi_token', 'pul-[a-f0-9]{40}', ['pul-'], 2],
  ['pypi_token', 'pypi-AgEIcHlwaS5vcmc[\\w-]{50,1000}', ['pypi-AgEIcHlwaS5vcmc'], 3],
  ['readme_token', 'rdme_[a-z0-9]{70}', ['rdme_'], 2],
  ['rubygems_token', 'rubygems_[a-f0-9]{48}', ['rubygems_'], 2],
  ['scalingo_token', 'tk-us-[\\w-]{48}', ['tk-us-'], 2],
  ['sendgrid_api_key', 'SG\\.[\\w=-]{22}\\.[\\w=-]{43}', ['SG.'], 2],
  ['sendinblue_api_key', 'xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}', ['xkeysib-'], 2],
  ['sentry_org_token', `sntrys_eyJpYXQiO[${B64}]{10,400}={0,2}_[${B64}]{43}`, ['sntrys_'], 4.5],
  ['sentry_user_token', 'sntryu_[a-f0-9]{64}', ['sntryu_'], 3.5],
  ['settlemint_token', 'sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}', ['sm_aat_', 'sm_pat_', 'sm_sat_'], 3],
  ['shippo_token', 'shippo_(?:live|test)_[a-fA-F0-9]{40}', ['shippo_'], 2],
  ['shopify_token', 'shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}', ['shpat_', 'shpca_', 'shppa_', 'shpss_'], 2],
  ['sidekiq_url_credentials', 'https?://(?<secret>[a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\\.contribsys\\.com', ['contribsys.com']],
  ['sourcegraph_token', 'sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}', ['sgp_'], 3],
  ['square_token', '(?:EAAA|sq0atp-)[\\w-]{22,60}|sq0csp-[\\w-]{43}', ['EAAA', 'sq0atp-', 'sq0csp-'], 2],
  ['stripe_key', '(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}', ['sk_test', 'sk_live', 'sk_prod', 'rk_test', 'rk_live', 'rk_prod'], 2],
  ['twilio_api_key', 'SK[0-9a-fA-F]{32}', ['SK'], 3],
  ['typeform_token', 'tfp_[A-Za-z0-9_.=-]{59}', ['tfp_'], 3],
  ['vault_token', 'hvb\\.[\\w-]{138,300}|hvs\\.[\\w-]{90,120}', ['hvb.', 'hvs.'], 3.5],
  ['yandex_token', 't1\\.[A-Za-z0-9_-]+=*\\.[A-Za-z0-9_-]{86}=*|AQVN[A-Za-z0-9_-]{35,38}', ['t1.', 'AQVN'], 3]
];

type NearRow = [id: string, near: string, value: string, entropy?: number];

/** Formats with no prefix of their own: only the value assigned to a name with the provider's name in it. */
const NAMED: NearRow[] = [
  ['adafruit_api_key', 'adafruit', '[a-z0-9_-]{32}', 3],
  ['adobe_client_id', 'adobe', '[a-f0-9]{32}', 3],
  ['airtable_api_key', 'airtable', '[a-z0-9]{17}', 3],
  ['algolia_api_key', 'algolia', '[a-z0-9]{32}', 3],
  ['alibaba_secret_key', 'alibaba', '[a-z0-9]{30}', 3],
  ['asana_client_id', 'asana', '[0-9]{16}', 2.5],
  ['asana_client_secret', 'asana', '[a-z0-9]{32}', 3],
  ['atlassian_token', 'atlassian|confluence|jira', '[a-z0-9]{24}', 3],
  ['beamer_api_token', 'beamer', 'b_[a-z0-9=_-]{44}', 3],
  ['bitbucket_client_id', 'bitbucket', '[a-z0-9]{32}', 3],
  ['bitbucket_client_secret', 'bitbucket', '[a-z0-9=_-]{64}', 3],
  ['bittrex_key', 'bittrex', '[a-z0-9]{32}', 3],
  ['cisco_meraki_api_key', 'meraki', '[0-9a-f]{40}', 3],
  ['cloudflare_api_key', 'cloudflare', '[a-z0-9_-]{40}|[a-f0-9]{37}', 3],
  ['codecov_token', 'codecov', '[a-z0-9]{32}', 3],
  ['cohere_api_key', 'cohere|co_api_key', '[a-z0-9]{40}', 3],
  ['coinbase_token', 'coinbase', '[a-z0-9_-]{64}', 3],
  ['confluent_key', 'confluent', '[a-z0-9]{64}|[a-z0-9]{16}', 3],
  ['contentful_token', 'contentful', '[a-z0-9=_-]{43}', 3],
  ['datadog_token', 'datadog', '[a-z0-9]{40}', 3],
  ['discord_token', 'discord', '[a-f0-9]{64}|[0-9]{18}|[a-z0-9=_-]{32}', 2.5],
  ['droneci_token', 'droneci', '[a-z0-9]{32}', 3],
  ['dropbox_token', 'dropbox', '[a-z0-9]{11}AAAAAAAAAA[a-z0-9_=-]{43}|[a-z0-9]{15}', 3],
  ['etsy_token', 'etsy', '[a-z0-9]{24}', 3],
  ['facebook_secret', 'facebook', '[a-f0-9]{32}', 3],
  ['fastly_token', 'fastly', '[a-z0-9=_-]{32}', 3],
  ['finicity_secret', 'finicity', '[a-f0-9]{32}|[a-z0-9]{20}', 3],
  ['finnhub_token', 'finnhub', '[a-z0-9]{20}', 3],
  ['flickr_token', 'flickr', '[a-z0-9]{32}', 3],
  ['freshbooks_token', 'freshbooks', '[a-z0-9]{64}', 3],
  ['gitter_token', 'gitter', '[a-z0-9_-]{40}', 3],
  ['gocardless_token', 'gocardless', 'live_[a-z0-9_=-]{40}', 3],
  ['heroku_api_key', 'heroku', UUID],
  ['hubspot_api_key', 'hubspot', UUID],
  ['intercom_api_key', 'intercom', '[a-z0-9=_-]{60}', 3],
  ['jfrog_token', 'jfrog|artifactory|bintray|xray', '[a-z0-9]{73}|[a-z0-9]{64}', 3],
  ['kraken_token', 'kraken', '[a-z0-9/=_+-]{80,90}', 3],
  ['kucoin_key', 'kucoin', `[a-f0-9]{24}|${UUID}`, 3],
  ['launchdarkly_token', 'launchdarkly', '[a-z0-9=_-]{40}', 3],
  ['linear_client_secret', 'linear', '[a-f0-9]{32}', 3],
  ['linkedin_client_secret', 'linked[_-]?in', '[a-z0-9]{16}|[a-z0-9]{14}', 3],
  ['lob_api_key', 'lob', '(?:live|test)_(?:pub_[a-f0-9]{31}|[a-f0-9]{35})', 3],
  ['looker_client_secret', 'looker', '[a-z0-9]{24}|[a-z0-9]{20}', 3],
  ['mailgun_key', 'mailgun', '(?:pub)?key-[a-f0-9]{32}|[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}', 3],
  ['mattermost_token', 'mattermost', '[a-z0-9]{26}', 3],
  ['messagebird_token', 'message[_-]?bird', `[a-z0-9]{25}|${UUID}`, 3],
  ['netlify_token', 'netlify', '[a-z0-9=_-]{40,46}', 3],
  ['new_relic_user_api_id', 'new[_-]?relic', '[a-z0-9]{64}', 3],
  ['nytimes_token', 'nytimes|new[_-]?york[_-]?times', '[a-z0-9=_-]{32}', 3],
  ['okta_token', 'okta', '00[\\w=-]{40}', 3.5],
  ['plaid_key', 'plaid', `access-(?:sandbox|development|production)-${UUID}|[a-z0-9]{30}|[a-z0-9]{24}`, 3],
  ['privateai_token', 'private[_-]?ai', '[a-z0-9]{32}', 3],
  ['rapidapi_token', 'rapidapi', '[a-z0-9_-]{50}', 3],
  ['sendbird_token', 'sendbird', `[a-f0-9]{40}|${UUID}`, 3],
  ['sentry_token', 'sentry', '[a-f0-9]{64}', 3],
  ['sidekiq_secret', 'bundle_(?:enterprise|gems)__contribsys__com', '[a-f0-9]{8}:[a-f0-9]{8}', 2],
  ['snyk_token', 'snyk[_.-]?(?:(?:api|oauth)[_.-]?)?(?:key|token)', UUID],
  ['sonar_token', 'sonar[_.-]?(?:login|token)', '(?:squ_|sqp_|sqa_)?[a-z0-9=_-]{40}', 3],
  ['squarespace_token', 'squarespace', UUID],
  ['sumologic_key', 'sumo', 'su[a-z0-9]{12}|[a-z0-9]{64}', 3],
  ['telegram_bot_token', 'telegr', '[0-9]{5,16}:A[a-z0-9_-]{34}', 3],
  ['travisci_token', 'travis', '[a-z0-9]{22}', 3],
  ['twitch_token', 'twitch', '[a-z0-9]{30}', 3],
  ['twitter_secret', 'twitter', 'A{22}[a-z0-9%]{80,100}|[0-9]{15,25}-[a-z0-9]{20,40}|[a-z0-9]{50}|[a-z0-9]{45}|[a-z0-9]{25}', 3],
  ['yandex_key', 'yandex', 'YC[a-z0-9_-]{38}', 3],
  ['zendesk_secret', 'zendesk', '[a-z0-9]{40}', 3]
];

/**
 * The literal start of each alternative of a `near` source, its optional separators spelled out: its keywords
 * (`linked[_-]?in|lnkd` → linkedin, linked_in, linked-in, lnkd).
 */
function leadingWords(source: string): string[] {
  const spelled = (part: string): string[] => {
    const separator = /\[([_.-]+)\]\?/.exec(part);
    if (!separator) {
      return [/^[a-z0-9_.-]+/.exec(part)?.[0] ?? ''];
    }
    const [before, after] = [part.slice(0, separator.index), part.slice(separator.index + separator[0].length)];
    return ['', ...separator[1]].flatMap(between => spelled(before + between + after));
  };
  return [...new Set(topLevel(source).flatMap(part => spelled(part.replace(/^(?:\(\?:)+/, ''))))].filter(word => word.length > 0);
}

/** The top-level alternatives of a regex source (`a(?:b|c)|d` → `a(?:b|c)`, `d`). */
function topLevel(source: string): string[] {
  const parts = [''];
  let depth = 0;
  for (const char of source) {
    depth += char === '(' ? 1 : char === ')' ? -1 : 0;
    if (char === '|' && depth === 0) {
      parts.push('');
    } else {
      parts[parts.length - 1] += char;
    }
  }
  return parts;
}

/** Every provider format, those with a prefix first. */
export const SECRET_RULES: ISecretRule[] = [
  ...PREFIXED.map(([id, pattern, keywords, entropy, ignoreCase]): ISecretRule => ({ id, pattern, keywords, entropy, ignoreCase })),
  ...NAMED.map(([id, near, pattern, entropy]): ISecretRule => ({
    id,
    pattern,
    near,
    entropy,
    ignoreCase: true,
    keywords: leadingWords(near)
  })),
  {
    // The values of a Kubernetes Secret's `data:` / `stringData:` (base64 or plain), in a text declaring one.
    id: 'kubernetes_secret',
    // Lines start and end at real line breaks or JSON-escaped ones (the text of a string literal in code).
    pattern: '(?:^|\\\\n)[ \\t]+[\\w.-]+:[ \\t]*["\']?(?<secret>[A-Za-z0-9+/]{10,}={0,3})["\']?[ \\t]*(?=$|\\\\[nr])',
    keywords: ['Secret'],
    within: /\bkind:[ \t]*["']?Secret\b["']?/,
    entropy: 3.3,
    allow: /^(?:Opaque|kubernetes)/
  }
];

/** Shannon entropy of `text` in bits per character. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) {
    counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A regex source matching any of `words` (non-empty), as a trie: `gl(?:pat-|dt-)` for glpat-, gldt-. */
function trie(words: string[]): string {
  const byFirst = new Map<string, string[]>();
  let ends = false;
  for (const word of words) {
    if (!word) {
      ends = true;
    } else {
      byFirst.set(word[0], [...(byFirst.get(word[0]) ?? []), word.slice(1)]);
    }
  }
  const branches = [...byFirst].map(([first, rests]) => escapeRegex(first) + trie(rests));
  if (!branches.length) {
    return '';
  }
  return branches.length === 1 && !ends ? branches[0] : `(?:${branches.join('|')})${ends ? '?' : ''}`;
}

/**
 * Which of many lower-case keywords a lower-case text contains, in one pass (a regex trie, tried at every
 * position so that overlapping keywords are all seen) instead of one search per keyword. One-character keywords
 * are looked up directly.
 */
export class KeywordSet {
  constructor(words: Iterable<string>) {
    const all = [...new Set(words)].filter(word => word.length > 0);
    this._single = all.filter(word => word.length === 1);
    const long = all.filter(word => word.length > 1);
    this._re = new RegExp(trie(long), 'g');
    // A match stands for every keyword it contains (the trie reports the longest at a position).
    this._within = new Map(long.map(word => [word, long.filter(other => word.includes(other))]));
  }

  /** The keywords `lower` contains. */
  present(lower: string): Set<string> {
    const found = new Set(this._single.filter(word => lower.includes(word)));
    const re = this._re;
    re.lastIndex = 0;
    for (let match = re.exec(lower); match; match = re.exec(lower)) {
      for (const word of this._within.get(match[0]) ?? [match[0]]) {
        found.add(word);
      }
      re.lastIndex = match.index + 1;
    }
    return found;
  }

  private readonly _single: string[];
  private readonly _re: RegExp;
  private readonly _within: Map<string, string[]>;
}
