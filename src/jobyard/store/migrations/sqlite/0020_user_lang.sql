-- A user's language (docs/i18n.md): what the web UI's language switch chose last while
-- they were logged in, or `jobyard user lang`; NULL when they never chose. Answers to
-- them in Slack use it before [slack] lang (docs/slack.md).
ALTER TABLE users ADD COLUMN lang TEXT;
