import type { ErrorCode } from './errors.js';
import type { ReportNote } from './model.js';

/** Card and message language (MEETCHECK_LANG): Simplified Chinese, or English for Lark tenants. */
export type Lang = 'zh' | 'en';

const zh = {
  'level.0': '无数据', 'level.1': '好', 'level.2': '较好', 'level.3': '中', 'level.4': '差',
  'health.0': '无数据', 'health.1': '健康', 'health.2': '告警',
  'aspect.audio': '音频', 'aspect.video': '视频', 'aspect.screen': '共享', 'aspect.network': '网络',
  'loading': '加载中',
  'title': '会议质量：{subject}',
  'title.untitled': '会议 {code}',
  'summary': '{total} 位参会者（按设备计），{alert} 位告警，{nodata} 位无数据',
  'summary.top': '常见问题：{problems}',
  'summary.loading': '已加载 {loaded} / {total} 位参会者的质量数据…',
  'summary.partial': '仅显示部分结果：{reason}',
  'page': '第 {page} / {pages} 页',
  'filter.problems': '仅显示有问题的参会者',
  'filter.none': '没有发现问题参会者。',
  'empty': '这场会议没有参会者数据。',
  'btn.prev': '上一页', 'btn.next': '下一页', 'btn.problems': '只看问题', 'btn.all': '显示全部', 'btn.refresh': '刷新',
  'querying': '正在查询会议 {meeting} 的质量…',
  'progress': '已加载 {loaded} 人…',
  'progress.total': '已加载 {loaded} / {total} 人…',
  'meeting.time': '{start} 开始',
  'meeting.inProgress': '会议进行中，数据为实时采样。',
  'device.pstn': '电话', 'device.pc': 'Windows', 'device.mac': 'Mac', 'device.android': 'Android', 'device.ios': 'iPhone',
  'device.web': '网页', 'device.ipad': 'iPad', 'device.android_pad': 'Android 平板', 'device.mini_program': '小程序',
  'device.sip': 'SIP 设备', 'device.linux': 'Linux', 'device.rooms': '会议室', 'device.controller': '控制器',
  'device.harmony': '鸿蒙', 'device.unknown': '未知设备',
  'role.host': '主持人', 'role.cohost': '联席主持人', 'role.creator': '创建者', 'role.attendee': '', 'role.guest': '嘉宾', 'role.unknown': '',
  'problem.delay': '网络延迟高（持续 {value} ms）',
  'problem.loss': '丢包严重（持续 {value}%）',
  'problem.jitter': '{aspect}抖动大（持续 {value} ms）',
  'problem.fps': '{aspect}帧率低（持续 {value} fps）',
  'problem.bitrate': '音频码率低（持续 {value} kbps）',
  'problem.cpu': 'CPU 占用高（持续 {value}%）',
  'problem.tcp': '媒体走 TCP 回退通道，易卡顿',
  'help.title': 'meetcheck 使用说明',
  'help.body':
    '/quality <会议号> [--problems] [--at YYYY-MM-DD[ HH:mm]]\n' +
    '查询一场已结束会议每位参会者的音频、视频、共享、网络质量，最差的排在最前。\n' +
    '会议号可带厂商前缀（{vendors}），例如 /quality tencent:806-146-667，也可直接粘贴“#腾讯会议：806-146-667”。\n' +
    '--problems 只显示有问题的参会者；--at 指定同一会议号的哪一次会议。别名：/质量 /health /帮助',
  'parse.error': '没看懂这条命令：{reason}',
  'parse.empty': '缺少会议号',
  'parse.badMeeting': '“{input}” 不是会议号（9–12 位数字，可带短横线）或会议 ID',
  'parse.badVendor': '不认识的厂商“{input}”，可用：{vendors}',
  'parse.badAt': '--at 需要 YYYY-MM-DD 或 YYYY-MM-DD HH:mm，收到“{input}”',
  'parse.unknownFlag': '不认识的选项“{input}”',
  'parse.unknownCommand': '不认识的命令“{input}”',
  'parse.tooLong': '命令太长',
  'parse.extra': '多余的内容“{input}”',
  'note.vendorProblems': '问题描述来自厂商原文。',
  'note.multipleMeetings': '这个会议号有 {count} 场会议，显示的是最近结束的一场（{start}）；用 --at 指定其他场次。',
  'note.partial.deadline': '加载超过 {seconds} 秒，先显示已加载的 {loaded} 人',
  'note.partial.longMeeting': '会议长达 {hours} 小时，飞书对超过 24 小时的部分不返回参会人，显示已取得的 {loaded} 人',
  'note.noHealthAddon': '健康度需要腾讯会议的“会议质量”增值服务；当前只列出参会者。',
  'note.healthUnavailable': '腾讯会议没有返回健康度（错误码 {code}）；当前只列出参会者。健康度需要“会议质量”增值服务，由企业管理员或超级管理员查询。',
  'note.noParticipantNames': '没有参会者名单（腾讯会议返回 {code}）：需要操作者是会议创建者或企业超级管理员；当前显示的健康度没有姓名。',
  'note.expiredRerun': '原报告已过期，已重新查询。',
  'err.meeting_not_found': '找不到这场会议。请确认会议号，以及会议属于这个厂商（可加前缀，例如 tencent:806-146-667）。',
  'err.meeting_not_ended': '会议还没有结束，质量数据在会议结束后才有。请会后几分钟再试。',
  'err.meeting_too_old': '只能查询最近 7 天内结束的会议。',
  'err.meeting_not_created_by_app': '企业微信只允许查询由本应用创建的会议。请用本应用预约会议，或改用其他厂商。',
  'err.wecom_meeting_not_visible': '找不到这个会议号，可能是：①会议不是本应用创建的（企业微信只提供这类会议的数据），请用本应用预约；②你和 WECOM_MEETING_ADMINS 里的成员都没参会，请让参会者来查，或把组织者的 userid 加入该变量。',
  'err.no_permission': '机器人没有查询这场会议的权限。请管理员按 README 为应用开通会议数据权限。',
  'err.user_auth_required': '飞书只允许以用户身份读取这些会议数据（新应用的视频会议权限只支持 user_access_token），需要一位管理员授权一次。',
  'err.user_auth_lapsed': '管理员对飞书会议数据的授权已失效或被撤销，需要管理员重新授权一次。',
  'err.user_auth_off': '飞书拒绝以应用身份读取会议数据（新应用只能由用户授权），本机器人未开启用户授权：请设置 MEETCHECK_ENCRYPTION_KEY 和 MEETCHECK_PUBLIC_URL（见 README）。',
  'auth.button': '授权',
  'auth.self': '{who}可以授权：点击下方“授权”，用自己的飞书账号同意一次即可（链接 10 分钟内有效，仅限{whoShort}使用）。授权后这张卡片会自动更新为报告。',
  'auth.others': '只有管理员可以授权：{admins}。请管理员在这个群里发送同一条 /quality 命令并点击“授权”。',
  'auth.nobody': '需要一位管理员在与机器人的飞书会话中发送 /quality 命令并点击“授权”。',
  'auth.you': '你',
  'auth.youOrAdmin': '你或其他管理员',
  'auth.progress': '已授权，正在查询会议 {meeting}…',
  'oauth.ok.title': '授权成功',
  'oauth.ok.body': 'meetcheck 现在可以读取飞书会议数据了。报告正在发到群里，可以关闭此页面。',
  'oauth.declined.title': '已拒绝授权',
  'oauth.declined.body': '没有做任何更改。如需重试，请在 10 分钟内再次点击卡片上的“授权”，或重新发送命令。',
  'oauth.badState.title': '授权链接无效',
  'oauth.badState.body': '这个链接已被使用、已过期（链接 10 分钟内有效），或不是本机器人生成的。请重新发送 /quality 命令获取新链接。',
  'oauth.badRequest.title': '缺少授权信息',
  'oauth.badRequest.body': '这个地址需要飞书授权后跳转带回的 code 和 state。请从卡片上的“授权”按钮进入。',
  'oauth.wrongUser.title': '这个链接不是给你的',
  'oauth.wrongUser.body': '只有发起查询的人或管理员可以用这个链接授权，授权没有保存。请他们点击卡片上的“授权”。',
  'oauth.failed.title': '飞书没有接受这次授权',
  'oauth.failed.body': '{reason}。请重新发送 /quality 命令获取新链接。',
  'oauth.off.title': '未开启用户授权',
  'oauth.off.body': '本机器人未开启飞书用户授权（未设置 {variable}）。',
  'err.ip_not_trusted': '服务器 IP 不在企业微信应用的可信 IP 列表中。请管理员在后台添加。',
  'err.quality_addon_missing': '企业未开通会议质量服务。',
  'err.rate_limited': '厂商接口限流中，请 {seconds} 秒后再试。',
  'err.vendor_auth': '厂商凭证无效或已过期。请管理员检查配置的密钥。',
  'err.vendor_unavailable': '厂商服务暂时不可用，请稍后再试。',
  'err.vendor_timeout': '厂商服务响应超时，请稍后再试。',
  'err.vendor_not_configured': '这个机器人没有配置 {vendor}。可用：{available}。',
  'err.store_unavailable': '服务暂时不可用（存储连接中断），请稍后再试。',
  'err.not_allowed': '你没有在这个群里使用 /quality 的权限，请联系管理员。',
  'err.report_expired': '这份报告已过期，请重新发送 /quality 命令。',
  'err.foreign_chat': '这张卡片只能在创建它的群里操作。',
  'err.busy': '同一查询正在进行中，请稍候。',
  'err.interrupted': '机器人重启，查询被中断。请点“刷新”或重新发送命令。',
  'err.internal': '出了点问题，已记录。请稍后再试。',
  'err.title': '查询失败',
  'err.detail': '厂商返回：{detail}',
} as const satisfies Record<string, string>;

/** Every key the catalogue has: a typo in a `t()` call fails the build. */
export type MessageKey = keyof typeof zh;

/** English has exactly the keys Chinese has (a missing or extra one fails the build). */
const en: Record<MessageKey, string> = {
  'level.0': 'no data', 'level.1': 'good', 'level.2': 'fairly good', 'level.3': 'fair', 'level.4': 'poor',
  'health.0': 'no data', 'health.1': 'healthy', 'health.2': 'alert',
  'aspect.audio': 'Audio', 'aspect.video': 'Video', 'aspect.screen': 'Screen', 'aspect.network': 'Network',
  'loading': 'loading',
  'title': 'Meeting quality: {subject}',
  'title.untitled': 'Meeting {code}',
  'summary': '{total} attendees (per device), {alert} with alerts, {nodata} without data',
  'summary.top': 'Most common problems: {problems}',
  'summary.loading': 'Loaded quality for {loaded} / {total} attendees…',
  'summary.partial': 'Partial result: {reason}',
  'page': 'Page {page} / {pages}',
  'filter.problems': 'Showing only attendees with problems',
  'filter.none': 'No attendee had problems.',
  'empty': 'No attendee data for this meeting.',
  'btn.prev': 'Previous', 'btn.next': 'Next', 'btn.problems': 'Only problems', 'btn.all': 'Show all', 'btn.refresh': 'Refresh',
  'querying': 'Checking the quality of meeting {meeting}…',
  'progress': 'Loaded {loaded} attendees…',
  'progress.total': 'Loaded {loaded} / {total} attendees…',
  'meeting.time': 'started {start}',
  'meeting.inProgress': 'Meeting in progress: live samples.',
  'device.pstn': 'Phone', 'device.pc': 'Windows', 'device.mac': 'Mac', 'device.android': 'Android', 'device.ios': 'iPhone',
  'device.web': 'Web', 'device.ipad': 'iPad', 'device.android_pad': 'Android tablet', 'device.mini_program': 'Mini program',
  'device.sip': 'SIP device', 'device.linux': 'Linux', 'device.rooms': 'Room', 'device.controller': 'Controller',
  'device.harmony': 'HarmonyOS', 'device.unknown': 'unknown device',
  'role.host': 'host', 'role.cohost': 'co-host', 'role.creator': 'creator', 'role.attendee': '', 'role.guest': 'guest', 'role.unknown': '',
  'problem.delay': 'High network delay (sustained {value} ms)',
  'problem.loss': 'Heavy packet loss (sustained {value}%)',
  'problem.jitter': 'High {aspect} jitter (sustained {value} ms)',
  'problem.fps': 'Low {aspect} frame rate (sustained {value} fps)',
  'problem.bitrate': 'Low audio bitrate (sustained {value} kbps)',
  'problem.cpu': 'High CPU (sustained {value}%)',
  'problem.tcp': 'Media fell back to TCP (prone to stalls)',
  'help.title': 'meetcheck help',
  'help.body':
    '/quality <meeting> [--problems] [--at YYYY-MM-DD[ HH:mm]]\n' +
    'Shows each attendee\'s audio, video, screen-share and network quality for an ended meeting, worst first.\n' +
    'Prefix the meeting with a vendor ({vendors}), e.g. /quality tencent:806-146-667, or paste "#腾讯会议：806-146-667".\n' +
    '--problems shows only attendees with problems; --at picks which occurrence of a meeting number. Aliases: /质量 /health /帮助',
  'parse.error': 'I could not read that command: {reason}',
  'parse.empty': 'the meeting number is missing',
  'parse.badMeeting': '"{input}" is not a meeting number (9–12 digits, dashes allowed) or meeting id',
  'parse.badVendor': 'unknown vendor "{input}"; use {vendors}',
  'parse.badAt': '--at needs YYYY-MM-DD or YYYY-MM-DD HH:mm, got "{input}"',
  'parse.unknownFlag': 'unknown option "{input}"',
  'parse.unknownCommand': 'unknown command "{input}"',
  'parse.tooLong': 'the command is too long',
  'parse.extra': 'unexpected "{input}"',
  'note.vendorProblems': 'Problem texts are the vendor\'s own.',
  'note.multipleMeetings': 'This number had {count} meetings; showing the most recent ended one ({start}). Use --at for another.',
  'note.partial.deadline': 'loading took over {seconds} s; showing the {loaded} loaded so far',
  'note.partial.longMeeting': 'the meeting ran {hours} h and Feishu would not list participants past its first 24 h; showing the {loaded} it gave',
  'note.noHealthAddon': 'Health needs Tencent Meeting\'s quality add-on; listing attendees only.',
  'note.healthUnavailable': 'Tencent Meeting gave no health data (error {code}); listing attendees only. Health needs the quality add-on, read by an enterprise admin or super-admin.',
  'note.noParticipantNames': 'No participant list (Tencent Meeting said {code}): it needs the operator to be the meeting\'s creator or an enterprise super-admin; showing ratings without names.',
  'note.expiredRerun': 'The earlier report had expired, so it was run again.',
  'err.meeting_not_found': 'Meeting not found. Check the number and that it belongs to this vendor (prefix it, e.g. tencent:806-146-667).',
  'err.meeting_not_ended': 'The meeting has not ended yet; quality data appears after it ends. Try again a few minutes after it ends.',
  'err.meeting_too_old': 'Only meetings that ended in the last 7 days can be checked.',
  'err.meeting_not_created_by_app': 'WeCom only shows meetings created by this app. Book the meeting through the app, or use another vendor.',
  'err.wecom_meeting_not_visible': 'No meeting with this code in your WeCom meeting list or in those of the members in WECOM_MEETING_ADMINS. Either (1) it was not created by this app: WeCom only reports on meetings this app created, so book meetings through this app; or (2) neither you nor those members attended: ask someone who attended to run /quality, or add the organiser\'s userid to WECOM_MEETING_ADMINS.',
  'err.no_permission': 'The bot has no permission to read this meeting. Ask an admin to grant the meeting-data permission (see the README).',
  'err.user_auth_required': 'Feishu gives out this meeting data only on a person\'s behalf (new apps get the VC scope for user_access_token only): an admin needs to authorise once.',
  'err.user_auth_lapsed': 'The admin\'s Feishu authorisation for meeting data has lapsed or was revoked: an admin needs to authorise again.',
  'err.user_auth_off': 'Feishu refused the app\'s own token for meeting data (new apps get it only through a person\'s authorisation), and user authorisation is off on this bot: set MEETCHECK_ENCRYPTION_KEY and MEETCHECK_PUBLIC_URL (see the README).',
  'auth.button': 'Authorise',
  'auth.self': '{who} can fix this: press Authorise below and approve once with your Feishu account (the link works for 10 minutes, for {whoShort} only). This card then turns into the report by itself.',
  'auth.others': 'Only an admin can authorise: {admins}. Ask them to send the same /quality command here and press Authorise.',
  'auth.nobody': 'An admin needs to send /quality in a Feishu chat with the bot and press Authorise.',
  'auth.you': 'you',
  'auth.youOrAdmin': 'you or another admin',
  'auth.progress': 'Authorised. Checking meeting {meeting}…',
  'oauth.ok.title': 'Authorised',
  'oauth.ok.body': 'meetcheck can now read Feishu meeting data. The report is being posted in the chat; you can close this page.',
  'oauth.declined.title': 'Authorisation declined',
  'oauth.declined.body': 'Nothing was changed. To try again, press Authorise on the card within 10 minutes, or send the command again.',
  'oauth.badState.title': 'This authorisation link is not valid',
  'oauth.badState.body': 'It was already used, has expired (links last 10 minutes), or was not made by this bot. Send the /quality command again for a new link.',
  'oauth.badRequest.title': 'Authorisation details missing',
  'oauth.badRequest.body': 'This address expects the code and state Feishu adds after you authorise. Start from the Authorise button on the card.',
  'oauth.wrongUser.title': 'This link was not for you',
  'oauth.wrongUser.body': 'Only the person who asked, or an admin, can authorise with this link; nothing was saved. Ask them to press Authorise on the card.',
  'oauth.failed.title': 'Feishu did not accept the authorisation',
  'oauth.failed.body': '{reason}. Send the /quality command again for a new link.',
  'oauth.off.title': 'User authorisation is off',
  'oauth.off.body': 'Feishu user authorisation is off on this bot ({variable} is not set).',
  'err.ip_not_trusted': 'This server\'s IP is not in the WeCom app\'s trusted IP list. Ask an admin to add it.',
  'err.quality_addon_missing': 'The quality add-on is not enabled for this organisation.',
  'err.rate_limited': 'The vendor is rate-limiting us; try again in {seconds} s.',
  'err.vendor_auth': 'The vendor rejected our credentials. Ask an admin to check the configured secrets.',
  'err.vendor_unavailable': 'The vendor is not answering right now; try again later.',
  'err.vendor_timeout': 'The vendor took too long to answer; try again later.',
  'err.vendor_not_configured': '{vendor} is not set up on this bot. Available: {available}.',
  'err.store_unavailable': 'Temporarily unavailable (lost the connection to storage); try again shortly.',
  'err.not_allowed': 'You are not allowed to run /quality in this chat. Ask an admin.',
  'err.report_expired': 'This report has expired. Send the /quality command again.',
  'err.foreign_chat': 'This card can only be used in the chat it was made for.',
  'err.busy': 'The same query is already running; hold on.',
  'err.interrupted': 'The bot restarted while loading this. Press Refresh or send the command again.',
  'err.internal': 'Something went wrong on our side; it has been logged. Try again later.',
  'err.title': 'Query failed',
  'err.detail': 'Vendor said: {detail}',
};

const catalogues: Record<Lang, Record<MessageKey, string>> = { zh, en };

export function t(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = catalogues[lang][key];
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

export function errorText(lang: Lang, code: ErrorCode, params: Record<string, string | number> = {}): string {
  return t(lang, `err.${code}`, params);
}

/** Formats unix seconds as local wall time in the bot's zone (Asia/Shanghai for these vendors). */
export function formatTime(unixSeconds: number, timeZone = 'Asia/Shanghai'): string {
  const parts = formatter(timeZone).formatToParts(new Date(unixSeconds * 1000));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour') === '24' ? '00' : get('hour')}:${get('minute')}`;
}

/** Building an Intl.DateTimeFormat costs far more than using one (it was the top item in the ack profile). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
    formatters.set(timeZone, f);
  }
  return f;
}

/** A report note in `lang`; a note saved as text by an older replica shows as it was written. */
export function noteText(lang: Lang, note: ReportNote | string): string {
  if (typeof note === 'string') return note;
  const params: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(note.params ?? {})) {
    params[k] = typeof v === 'object' ? ('time' in v ? formatTime(v.time) : noteText(lang, v)) : v;
  }
  return t(lang, note.key, params);
}
