"""The rule tables of ``reading``: which words ask for which edit, for a new video, or for an edit the agent cannot do.

Each table is a plain text block, one rule a line, so that a keyword can be read and changed without reading code;
``reading`` expands the ``{PIECES}`` and compiles them.
"""

from __future__ import annotations

import re

__all__ = [
    "GENERATION_STRONG",
    "GENERATION_WEAK",
    "OPENERS",
    "PIECES",
    "QUOTED",
    "QUOTE_PAIRS",
    "RULE_TABLE",
    "UNSUPPORTED_TABLE",
]

# The quotes a request can put a title in. The client's masker (nemo_contract._text) has another table on purpose:
# it reads the backend's replies, this one reads requests the way the backend does (《》 marks a title, at most 80
# characters, blanked with spaces); the emulator never imports client modules.
QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("「", "」"), ("『", "』"), ("《", "》"), ("‘", "’"))
QUOTED = "|".join(f"{re.escape(o)}([^{re.escape(c)}\\n]{{1,80}}){re.escape(c)}" for o, c in QUOTE_PAIRS)
QUOTED += r"|(?<!\w)'([^'\n]{1,80})'(?!\w)"  # a straight single quote only when it is not an apostrophe
OPENERS = "\"“「『《‘'"

# Pieces the rule table below names as {NAME}.
PIECES = {
    "NUM": r"(\d+(?:\.\d+)?)",
    "NUMCN": r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)",
    "SECS": r"\s*-?\s*(?:s|secs?|seconds?)\b",
    "QUOTED": QUOTED,
    "PRE": rf"[^{OPENERS}\n]",
    "NOTEXT": rf"(?![^{OPENERS}\n]{{0,24}}?[{OPENERS}])(?!\s*[:：])",
    "UNQUOTED": r"([^\n.;!?,，。；！？\"“”「」]{1,80}?)(?=\s+(?:and|then)\b|[\n.;!?,，。；！？]|$)",
    "GUARD": r"(?!and\b|then\b|titles?\b|captions?\b|text\b|music\b|bgm\b|soundtrack\b|transitions?\b|no\b|without\b)",
    "NOUN": r"(?:videos?|clips?|movies?|films?|reels?|shorts|montages?|trailers?|promos?|vlogs?|slideshows?|mp4s?)",
    "MUSICCN": r"(?:背景音乐|音乐|配乐|BGM)",
    "WHICH": r"(?:(?P<which>first|second|third|fourth|fifth|last|final|opening|\d{1,2}(?:st|nd|rd|th))\s+)",
    "WHICHCN": r"(?P<which>第[一二两三四五六七八九十\d]{1,3}个?|最后一个?|首个)",
    "CLIP": r"(?:clip|shot|scene|segment|part|video|footage)s?\b",
    "TIMES": r"(?P<times>\d+(?:\.\d+)?)\s*(?:x|×|times)(?![\w.])",
    "TIMESCN": r"(?P<times>\d+(?:\.\d+)?|[一二两三四五六七八九十])\s*倍速?",
    "SFX": r"(?:whoosh|swoosh|swish|pop|ding|chime|boom|click|applause|bell|whistle)",
    "AT": r"(?:\s+(?:at|to|in|on)\s+(?:the\s+)?(start|beginning|opening|intro|end|ending|outro)\b)?",
    "BW": r"(?:black[\s-]*(?:and|&|n)[\s-]*white|b\s*&\s*w|gr[ae]y[\s-]?scale|monochrome|desaturated?|sepia)",
}
# "kind reading pattern"; an indented line continues the pattern above. Title rules read the message itself, the
# others the message with quoted phrases blanked, so a title never reads as a keyword.
RULE_TABLE = r"""
music genre \b(?:add|put|insert|include|throw\s+in|lay|generate|create|compose|make)\b(?:\s+{GUARD}[\w'-]+){0,3}?\s+
  (?:music|bgm|soundtrack|song|tune)s?\b
music genre \b(?:background|backing)\s+(?:music|track|song|tune)s?\b
music genre \b(?:change|switch|swap|replace)\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|song|soundtrack)\b
music genre (?:添加|加上|加入|加点|加个|加一段|加一首|配上|换成|换个|换首|换一首|来点|来一段|
  来首|加)[^，。,.!！?？；;\s]{0,6}?(?:音乐|配乐|BGM|歌曲|歌)
music genre \b(?:and|with|plus)\s+(?:some\s+)?(?:{GUARD}[\w'-]+\s+)?(?:music|bgm|soundtrack)\b(?!\s*(?:'s\s+)?volume)
music genre 背景音乐|配乐
unmusic none \b(?:remove|delete|drop|strip|kill|ditch|lose|take\s+out|get\s+rid\s+of|turn\s+off|switch\s+off)\s+
  (?:the\s+|all\s+(?:the\s+)?|any\s+|that\s+|my\s+)?(?:background\s+)?(?:music|bgm|soundtrack|songs?|audio(?:\s+tracks?)?)\b
unmusic none \b(?:no|without)\s+(?:more\s+|any\s+)?(?:background\s+)?(?:music|bgm|soundtrack)\b
unmusic none \bmute\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|audio|soundtrack)\b
unmusic none (?:删除|删掉|去掉|去除|移除|拿掉|关掉|关闭|取消|不要|不需要|不用|不加)(?:所有的?|全部的?)?{MUSICCN}
unmusic none (?:把|将)?{MUSICCN}给?(?:删除|删掉|去掉|去除|移除|拿掉|关掉|删了|去了|静音)|静音
title text \b(?:title|caption|headline|text(?:\s+overlay)?|titled|call\s+it|name\s+it)s?\b
  (?:{PRE}{0,24}?(?:{QUOTED})|\s*[:：]\s*{UNQUOTED})
title none \b(?:add|put|insert|include|create|make)\s+(?:a\s+|an\s+|the\s+|some\s+)?(?:titles?|caption|headlines?)\b
  {NOTEXT}
title text (?:标题|字幕|文字|文案|片名)(?:{PRE}{0,8}?(?:{QUOTED})|\s*[:：]\s*([^\n，。；！？,.;!?"“”「」]{1,40}))
title none (?:添加|加上|加个|加一个|加)(?:一个|个)?标题{NOTEXT}
untitle none \b(?:remove|delete|drop|hide|take\s+(?:out|off|away)|get\s+rid\s+of)\s+(?:the\s+|my\s+|that\s+|this\s+)?
  (?:title|headline)s?\b(?:\s+(?:text|card|overlay))?(?!\s*[:：])
untitle none \b(?:no|without)\s+(?:a\s+|the\s+|any\s+)?(?:title|headline)s?\b
untitle none (?:删除|删掉|去掉|去除|移除|拿掉|取消|隐藏|不要|不需要)(?:这个|那个)?标题
  |(?:把|将)标题给?(?:删除|删掉|去掉|去除|移除|拿掉|隐藏|删了|去了)
subtitles none \b(?:add|put|insert|include|generate|create|make|burn(?:\s+in)?|turn\s+on|enable|show)\s+
  (?:the\s+|some\s+|a\s+few\s+)?(?:(?:closed|english|chinese|auto(?:matic)?|auto-generated)\s+)?
  (?:subtitles?|captions|closed\s+captions|cc)\b{NOTEXT}
subtitles none \b(?:with|and|plus)\s+(?:some\s+)?(?:subtitles?|captions|closed\s+captions)\b{NOTEXT}
subtitles none \b(?:subtitle|caption)\s+(?:it|this|the\s+(?:video|clip))\b
subtitles none (?:添加|加上|加个|加一个|加点|加|配上|生成|显示|打开|开启)(?:一下|一些|些|上)?
  (?:中文|英文|双语)?字幕{NOTEXT}
unsubtitles none \b(?:remove|delete|drop|hide|turn\s+off|switch\s+off|disable|take\s+(?:out|off)|get\s+rid\s+of)\s+
  (?:the\s+|all\s+(?:the\s+)?|any\s+|my\s+)?(?:subtitles?|captions|closed\s+captions|cc)\b
unsubtitles none \b(?:no|without)\s+(?:more\s+|any\s+)?(?:subtitles?|captions)\b
unsubtitles none (?:删除|删掉|去掉|去除|移除|拿掉|关掉|关闭|取消|隐藏|不要|不需要)(?:所有的?|全部的?)?字幕
  |(?:把|将)字幕给?(?:删除|删掉|去掉|去除|移除|关掉|隐藏|删了|去了)
sfx effect \b(?:add|put|insert|include|play|drop|throw\s+in)\s+(?:a\s+|an\s+|some\s+|the\s+|one\s+)?
  (?:(?:little|short|quick|cool|fun|small)\s+)?(?:({SFX})\s+)?(?:sound\s+effects?|sound\s+fx|sfx)\b{AT}
sfx effect \b(?:add|put|insert|play)\s+(?:a\s+|an\s+|the\s+)?({SFX})\s+sound\b{AT}
sfx effect (?:在|于)?(?:视频)?(开头|开始|片头|结尾|末尾|片尾)?(?:处|的地方|的时候)?
  (?:添加|加上|加个|加一个|加点|加|放个|放一个|配个|配上|来个)(?:一个|个|一段|段|点)?
  (?:(嗖|叮|砰|咚|掌声|铃声|哨声)的?)?(?:音效|声效)
trim seconds \b(?:trim|cut|shorten|clip|crop|chop|reduce)(?:\s+(?:it|this|that|down|everything|the\s+(?:video|clip|
  whole\s+(?:thing|video))))*\s+(?:to|into)\s+(?:just\s+|only\s+|the\s+first\s+)?{NUM}{SECS}
trim seconds \bmake\s+(?:it|this|the\s+(?:video|clip))\s+(?:just\s+|only\s+)?{NUM}{SECS}(?:\s+long\b)?
trim seconds \bkeep\s+(?:only\s+|just\s+)?the\s+first\s+{NUM}{SECS}
trim seconds (?:剪到|剪成|剪短到|剪短为|剪为|缩短到|缩短为|缩短成|裁剪为|裁剪到|裁剪成|裁到|裁成|
  截到|截成|截取|控制在|只保留|保留|只要|时长改为|时长改成|时长设为)\s*前?\s*{NUMCN}\s*(?:秒|s\b)
cut_end seconds \b(?:cut|trim|remove|drop|chop|delete|lose|take)\s+(?:off\s+|out\s+)?(?:the\s+)?(?:last|final|ending|
  closing)\s+{NUM}{SECS}(?:\s+off)?
cut_end seconds \b(?:cut|trim|chop|take|shave)\s+{NUM}{SECS}\s+off(?:\s+the\s+end(?:ing)?)?
cut_end seconds \b(?:shorten|trim|cut)\s+(?:it\s+|the\s+(?:video|clip)\s+)?by\s+{NUM}{SECS}
cut_end seconds (?:剪掉|剪去|去掉|删掉|删除|裁掉|砍掉|减掉|去除)(?:视频)?(?:最后|末尾|结尾)的?\s*{NUMCN}\s*(?:秒|s\b)
cut_end seconds (?:把)?(?:视频)?(?:最后|末尾|结尾)的?\s*{NUMCN}\s*(?:秒|s\b)给?
  (?:剪掉|去掉|删掉|删除|裁掉|剪了|删了|去了)
cut_end seconds 缩短\s*{NUMCN}\s*(?:秒|s\b)
speed speed \b(?:speed\s+up|fast[- ]?forward)\b(?:\s+(?:the\s+)?{WHICH}?{CLIP})?(?:\s+(?:to|by|at)\s+{TIMES})?
speed speed \bspeed\s+(?:it|this|that|them|the\s+(?:video|clips?|footage))\s+up\b(?:\s+(?:to|by|at)\s+{TIMES})?
speed speed \bmake\s+(?:the\s+)?(?:{WHICH}?{CLIP}|it)\s+(?:play\s+)?(?:faster|quicker|slower)\b
speed speed \bplay\s+(?:the\s+)?(?:{WHICH}?{CLIP}|it)\s+(?:at\s+)?{TIMES}(?:\s+speed)?
speed speed \bslow\s+down\b(?:\s+(?:the\s+)?{WHICH}?{CLIP})?(?:\s+(?:to|by)\s+{TIMES})?
speed speed \bslow\s+(?:it|this|that|them|the\s+(?:video|clips?|footage))\s+down\b(?:\s+(?:to|by)\s+{TIMES})?
speed speed \bslow[- ]?mo(?:tion)?\b
speed speed (?:把|将)?{WHICHCN}?(?:片段|镜头|素材|画面|视频)?
  (?:加速|快放|变快|调快|快进|减速|慢放|放慢|变慢|慢动作)(?:播放)?(?:(?:到|为|成|至)?\s*{TIMESCN})?
filter none \b(?:remove|drop|take\s+off|get\s+rid\s+of|clear|turn\s+off)\s+(?:the\s+|any\s+|all\s+(?:the\s+)?)?
  (?:filters?|{BW})\b(?:\s+(?:filter|effect|look))?
filter none \b(?:back\s+(?:to|in)\s+colou?r|in\s+full\s+colou?r|colou?r\s+again)\b
filter none (?:去掉|删除|取消|关掉|移除|去除)(?:所有的?)?(?:滤镜|黑白效果|黑白)|恢复(?:成)?彩色|变回彩色
filter look \b{BW}\b(?:\s+(?:filter|effect|look|tone))?|\bvintage\s+(?:filter|look|effect|tone)\b
filter look (?:黑白|灰度|单色)(?:色调|滤镜|效果|风格|画面)?|(?:复古|怀旧|棕褐色?)(?:色调|滤镜|效果)
aspect ratio (?<![\d.])(\d{1,2})\s*[:：xX×]\s*(\d{1,2})(?![\d.])
aspect word \b(?:(?:for|on)\s+)?(?:vertical|portrait|tik\s?tok|(?:instagram\s+)?reels?|youtube\s+shorts|shorts|
  landscape|horizontal|wide\s?screen|youtube|square)\b
aspect word 竖屏|竖版|竖向|抖音|快手|横屏|横版|横向|宽屏|正方形|方形|方屏
transitions name \b(?:(dissolve|wipe|slide|zoom|fade)\s+)?transitions?\b
transitions name \bcross[- ]?fad(?:e|es|ing)\b
transitions name \bfade\s+(?:in\s+and\s+out\s+)?between\s+(?:the\s+)?(?:clips|shots|scenes)\b
transitions name \b(dissolve|wipe|slide|zoom)s?\s+between\b
transitions name (淡入淡出|淡化|叠化|溶解|擦除|划像|滑动|推移|缩放)?的?(?:转场|过渡)
volume set (?:\b(?:background\s+)?(?:music|bgm|audio|soundtrack)(?:'s)?\s+)?\bvolume\b
  (?:\s+of\s+the\s+(?:background\s+)?(?:music|bgm))?\s*(?:to|at|=|:|of)?\s*{NUM}\s*(%|percent\b)?
volume set \b(?:background\s+)?(?:music|bgm)\s+(?:volume\s+)?(?:to|at)\s+{NUM}\s*(%|percent\b)
volume set \b(?:put|set|turn|bring|keep|change|lower|raise|drop|reduce|adjust|make)\s+(?:the\s+)?(?:background\s+)?
  (?:music|bgm|soundtrack)(?:'s)?(?:\s+volume)?\s+(?:down\s+|up\s+)?(?:to|at)\s+{NUM}\s*(%|percent\b)
volume set (?:把|将)?{MUSICCN}的?(?:音量)?\s*(?:调到|调成|调为|调至|设为|设置为|设成|改为|改成|变成|
  降到|降低到|减小到|提高到|调小到|调低到|调大到|调高到|放到|放在)\s*(?:百分之\s*{NUMCN}|{NUM}\s*([%％])?)
volume set {MUSICCN}?的?音量\s*(?:调到|调成|调为|调至|设为|设置为|设成|改为|改成|变成|到|为|是|[:：])?\s*
  (?:百分之\s*{NUMCN}|{NUM}\s*([%％])?)
volume step (?:\bmake\s+)?(?:\bthe\s+)?(?:\b(?:background\s+)?(?:music|bgm|audio|sound)\s+)?(?:\ba\s+(?:bit|little)\s+)?
  \b(louder|quieter|softer)\b
volume step \bturn\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|volume|audio|sound)\s+(up|down)\b
volume step \bturn\s+(up|down)\s+the\s+(?:background\s+)?(?:music|bgm|volume|audio|sound)\b
volume step \b(raise|increase|boost|lower|decrease|reduce)\s+the\s+(?:background\s+)?(?:music\s+|bgm\s+)?volume\b
volume step (?:背景音乐|音乐|配乐|BGM|声音)?的?(?:音量)?再?(大声|响亮|小声|轻声)一?点?
volume step (?:背景音乐|音乐|配乐|声音)的?(?:音量)?再?调?(大|高|小|低|轻)一?点
volume step (调大|调高|提高|增大|加大|调小|调低|降低|减小)(?:一下|一点)?{MUSICCN}?的?音量
"""
# What a generation asks for: "strong" names a new video outright, "weak" only uses a generating verb.
GENERATION_STRONG = r"""
\b(?:re-?)?(?:generate|create|produce)\b(?:\s+{GUARD}[\w'-]+){0,4}?\s+{NOUN}\b
|\bmake\s+(?:me\s+|us\s+)?(?:a|an|another|one|some|new)\b(?:\s+{GUARD}[\w'-]+){0,3}?\s+{NOUN}\b
|\bturn\s+(?:this|these|that|it|them|my|the|those)\b[^.!?\n]{0,60}?\binto\b
|(?:生成|制作|创建|创作|做一个|做个|做一段|做一条|剪一个|剪个|剪一段|来一个|来个|来一段)
(?:(?!音乐|配乐|标题|字幕|转场|过渡)[^，。,.!！?？；;]){0,12}?(?:视频|短片|影片|片子|vlog|大片|成片)
|(?:把|将)[^，。,.!！?？；;]{0,20}?做成|一键成片|自动剪辑|自动生成|自动成片
"""
# Edits the agent cannot do, as "unsupported <what> pattern", read in the message with quoted phrases blanked.
# Only words that clearly ask for such an edit count; anything vaguer gets the help reply.
UNSUPPORTED_TABLE = r"""
unsupported effect \b(?:add|put|insert|include|give|make|create|apply|generate|turn)\b[^.!?\n]{0,40}?
  \b(?:3-?d|three[- ]d|holograms?|holographic|augmented\s+reality|vfx|cgi|particles?|explosions?|lasers?|
  lens\s+flares?|green\s*screen|chroma[\s-]?key)\b
unsupported effect \b(?:replace|change|swap|remove|erase)\s+(?:the\s+)?(?:sky|background|backdrop)\b
  (?!\s+(?:music|track|song|audio|tune|noise|sound|volume))
unsupported effect \b(?:remove|erase|delete)\s+(?:the\s+|that\s+|this\s+)?
  (?:person|people|man|woman|guy|car|object|logo|watermark)s?\b
unsupported effect (?:加|添加|放|做|弄|来|生成)[^，。,.!！?？；;]{0,10}?(?:3D|3d|全息|粒子|爆炸|激光|特效|绿幕|抠像)
  |(?:换|替换|去掉)(?:天空|背景)(?!音乐|音|声)|(?:去掉|删除|抹掉)(?:路人|水印|人物)
unsupported face \b(?:make|let|have|get)\s+(?:the\s+|that\s+|this\s+)?
  (?:actors?|actress|person|people|guy|man|woman|girl|boy|kid|him|her|them|everyone|everybody|he|she)\s+(?:smile|laugh|cry|wave|dance|talk|blink|look|wink|nod|jump|sing)\w*\b
unsupported face \b(?:face\s*swap|swap\s+(?:the\s+)?faces?
  |change\s+(?:his|her|their|the)\s+(?:face|expression|outfit|clothes|hair)|beautify|retouch|slim\s+(?:the\s+)?face|de-?age)\b
unsupported face 让(?:演员|人物|主角|他|她|他们|大家|人)[^，。,.!！?？；;]{0,4}?(?:笑|微笑|哭|眨眼|挥手|跳舞|说话|点头)
  |换脸|美颜|瘦脸|(?:改|换)(?:表情|衣服|发型)
unsupported voice \b(?:change|alter|modify|swap|replace|deepen|disguise)\s+
  (?:the\s+|his\s+|her\s+|my\s+|their\s+)?voices?\b
unsupported voice \b(?:voice[\s-]?(?:changer|over)s?|dub(?:bing|bed)?|lip[\s-]?sync\w*|text[\s-]to[\s-]speech|narration|
  clone\s+(?:my\s+|the\s+)?voice)\b
unsupported voice \bmake\s+(?:it|him|her|them|the\s+voice)\s+sound\s+like\b
unsupported voice 变声|换(?:个)?声音|改(?:变)?声音|声音(?:变成|换成|改成)|配音|旁白|对口型|(?:男声|女声|童声)
"""
GENERATION_WEAK = r"""
\b(?:re-?)?(?:generate|generating|create|creating|produce|producing)\b|\bmake\s+(?:me\s+|us\s+)?(?:a|an)\b
|\bauto[- ]?(?:generat|edit|creat|mak|cut)\w*|\bautomatic(?:ally)?\b|生成|制作|创建|做一个|做个|自动
"""
