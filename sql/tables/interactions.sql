-- User/session x product events, ordered per user by position.
CREATE TABLE IF NOT EXISTS interactions (
    user_id     VARCHAR NOT NULL,
    session_id  VARCHAR NOT NULL,
    product_id  VARCHAR NOT NULL,
    position    BIGINT NOT NULL,
    ts          TIMESTAMP,
    parse_flags VARCHAR            -- values nulled on read, with why: "ts: unreadable timestamp ('06 17, 2018')"
);
