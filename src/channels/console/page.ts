import type { Lang } from '../../core/i18n.js';

/**
 * The console page: a static shell. Everything dynamic (the cards) is built in the browser by
 * assets/console.js with DOM calls and textContent, never innerHTML, so vendor text cannot become
 * markup; the Content-Security-Policy below would stop an injected script even if it did.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LABELS = {
  zh: {
    title: 'meetcheck 控制台',
    intro: '像在群里一样输入命令。回答按飞书或企业微信显示卡片的样子画出来，用的就是机器人发出的卡片 JSON。',
    command: '命令',
    send: '发送',
    placeholder: '/quality demo:123456789',
    surface: '卡片样式',
    feishu: '飞书',
    wecom: '企业微信',
    examples: '试试',
    json: '查看发送的 JSON',
    you: '你',
    bot: 'meetcheck',
    log: '对话',
    failed: '请求失败',
    stream: '流式回复',
    unsupported: '不支持的组件',
    image: '图片',
    all: '所有人',
  },
  en: {
    title: 'meetcheck console',
    intro: 'Type a command as you would in a group chat. The answer is drawn the way Feishu or WeCom shows the card, from the very card JSON the bot sends.',
    command: 'Command',
    send: 'Send',
    placeholder: '/quality demo:123456789',
    surface: 'Card style',
    feishu: 'Feishu',
    wecom: 'WeCom',
    examples: 'Try',
    json: 'Show the JSON sent',
    you: 'You',
    bot: 'meetcheck',
    log: 'Conversation',
    failed: 'Request failed',
    stream: 'stream reply',
    unsupported: 'unsupported element',
    image: 'image',
    all: 'all',
  },
} satisfies Record<Lang, Record<string, string>>;

/** Demo meetings from src/vendors/demo (README "Demo meetings"): a mixed one, an all-hands, a missing one. */
const EXAMPLES = ['/quality demo:123456789', '/quality demo:123456789 --problems', '/quality demo:555555555', '/quality demo:000000000', '/help'];

/** JSON inside a <script type="application/json"> block: "<" escaped so no text can close the block. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function consolePage(lang: Lang): string {
  const l = LABELS[lang];
  const config = { lang, labels: l, examples: EXAMPLES };
  // Only our own constant labels appear in the markup; none of it comes from a request or a vendor.
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${l.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="application/json" id="mc-config">${jsonForScript(config)}</script>
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<header class="top">
  <h1>${l.title}</h1>
  <p class="intro">${l.intro}</p>
</header>
<main>
  <fieldset class="surface-switch">
    <legend>${l.surface}</legend>
    <label><input type="radio" name="surface" value="feishu" checked> ${l.feishu}</label>
    <label><input type="radio" name="surface" value="wecom"> ${l.wecom}</label>
  </fieldset>
  <ol id="log" class="log" role="log" aria-live="polite" aria-label="${l.log}"></ol>
  <form id="command-form" class="composer" autocomplete="off">
    <label for="command">${l.command}</label>
    <input id="command" name="text" type="text" maxlength="300" placeholder="${l.placeholder}" required>
    <button type="submit" id="send">${l.send}</button>
  </form>
  <nav class="examples" aria-label="${l.examples}">
    <span>${l.examples}:</span>
    <ul id="examples"></ul>
  </nav>
</main>
</body>
</html>
`;
}
